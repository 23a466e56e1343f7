using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text.Json;
using SimService.Domain.Network;

namespace SimService.Domain.Scenarios;

/// <summary>TCP options: those an inject step sends and those a packet check expects.</summary>
internal sealed partial class ScenarioReader
{
    static readonly FrozenSet<string> OptionFields = Set("mss", "wscale", "sackOK", "ts", "sack");
    static readonly FrozenSet<string> TimestampFields = Set("val", "ecr");

    /// <summary>The "ecr" word that echoes the last TSval the scripted host received on the connection.</summary>
    internal const string EchoWord = "echo";

    /// <summary>
    /// An inject step's options: <c>mss</c> (1-65535), <c>wscale</c> (0-255 as on the wire; Linux
    /// clamps above 14), <c>sackOK</c>, <c>ts</c> <c>{ val, ecr }</c> (ecr a number or "echo", default
    /// 0) and <c>sack</c> blocks (at most 4, 3 with a timestamp: MAX_TCP_OPTION_SPACE).
    /// </summary>
    InjectOptions? InjectOptionsOf(JsonMember member)
    {
        var f = Object(member, OptionFields);
        if (f is null) return null;
        var mss = f["mss"] is { } m ? Int32(m, 1, ushort.MaxValue) : null;
        var wscale = f["wscale"] is { } w ? Int32(w, 0, byte.MaxValue) : null;
        var sackOk = f["sackOK"] is { } so ? Bool(so) : false;
        InjectTimestamp? ts = null;
        if (f["ts"] is { } tm && Object(tm, TimestampFields) is { } t)
        {
            var val = SeqNo(Required(t, "val"));
            uint? ecr = 0;
            bool echo = false;
            if (t["ecr"] is { } e)
            {
                if (e.Value.ValueKind == JsonValueKind.String)
                {
                    if (e.Value.GetString() == EchoWord) echo = true;
                    else Error(e.Path, $"expected a TSecr number or \"{EchoWord}\"");
                }
                else ecr = SeqNo(e);
            }
            if (val is { } v && ecr is { } c) ts = new InjectTimestamp(v, c, echo);
        }
        var sack = f["sack"] is { } s ? SackBlocksOf(s, ts is not null) : [];
        return sackOk is { } ok ? new InjectOptions(mss, wscale, ok, ts, sack ?? []) : null;
    }

    /// <summary>
    /// A packet check's options: each member given is checked; <c>mss</c>/<c>wscale</c> null and
    /// <c>ts</c> false mean the option must be absent, <c>sack</c> [] that no SACK blocks are carried.
    /// </summary>
    OptionsCheck? OptionsCheckOf(JsonMember member)
    {
        var f = NonEmptyObject(member, OptionFields);
        if (f is null) return null;
        var mss = f["mss"] is { } m ? NullableInt(m, 1, ushort.MaxValue) : null;
        var wscale = f["wscale"] is { } w ? NullableInt(w, 0, byte.MaxValue) : null;
        var sackOk = f["sackOK"] is { } so ? Bool(so) : null;
        TimestampCheck? ts = null;
        if (f["ts"] is { } tm)
        {
            if (tm.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) ts = new TimestampCheck(tm.Value.GetBoolean(), null, null);
            else if (Object(tm, TimestampFields) is { } t) ts = new TimestampCheck(true, SeqNo(t["val"]), SeqNo(t["ecr"]));
        }
        var sack = f["sack"] is { } s ? SackBlocksOf(s, withTimestamp: false) : null;
        return new OptionsCheck(mss, wscale, sackOk, ts, sack);
    }

    /// <summary>An integer, or JSON null for "absent" (<see cref="OptionsCheck.Absent"/>).</summary>
    int? NullableInt(JsonMember member, long min, long max) =>
        member.Value.ValueKind == JsonValueKind.Null ? OptionsCheck.Absent : Int32(member, min, max);

    /// <summary>SACK blocks as [left, right] pairs, at most TCP_NUM_SACKS (3 beside a timestamp).</summary>
    ImmutableArray<SeqRange>? SackBlocksOf(JsonMember member, bool withTimestamp)
    {
        int max = withTimestamp ? SackBlocks.Max - 1 : SackBlocks.Max;
        // Counted before any block is read (review40a S-2): two million blocks built a member and a path for each first.
        if (member.Value.ValueKind == JsonValueKind.Array && member.Value.GetArrayLength() > max)
        {
            Error(member.Path, $"at most {max} SACK blocks fit in the 40 bytes of options{(withTimestamp ? " beside a timestamp" : "")}");
            return [];
        }
        var blocks = ImmutableArray.CreateBuilder<SeqRange>();
        foreach (var item in Items(member))
        {
            var pair = Items(item, nonEmpty: true); // says so when it is no array or an empty one
            if (item.Value.ValueKind != JsonValueKind.Array || item.Value.GetArrayLength() == 0) continue;
            if (item.Value.GetArrayLength() != 2)
            {
                Error(item.Path, "a SACK block is [left, right]");
                continue;
            }
            var (first, second) = (pair.First(), pair.Last());
            if (SeqNo(first) is { } left && SeqNo(second) is { } right) blocks.Add(new SeqRange(left, right));
        }
        return blocks.ToImmutable();
    }
}
