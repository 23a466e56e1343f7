using System.Buffers.Binary;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Tests;

/// <summary>
/// Journal pages (<see cref="JournalPageCodec"/>): every event kind reads back to an equal event whose JSON is exactly
/// what a one-event JSON row stored; a page that is truncated or changed is a <see cref="JournalPageFormatException"/>.
/// </summary>
public sealed class JournalPageCodecTests
{
    private static readonly FourTuple Tuple = new(new Endpoint(IPv4.Parse("10.0.0.1"), 40000), new Endpoint(IPv4.Parse("10.0.0.2"), 80));
    private static readonly FourTuple Other = new(new Endpoint(IPv4.Parse("192.168.255.254"), 65535), new Endpoint(IPv4.Parse("0.0.0.0"), 0));

    /// <summary>One event of every kind, with the edge values each field can take (nulls, SACK blocks, extremes, non-ASCII text).</summary>
    public static List<SimEvent> EveryKind()
    {
        var options = new TcpOptions(1460, 7, true, true, uint.MaxValue, 1, SackBlocks.Of(new SackBlock(1, 2), new SackBlock(uint.MaxValue - 1, uint.MaxValue)));
        long seq = 41;
        SimTime At(long ns) => new(ns);
        return
        [
            new SegmentSent(At(5), seq++, "client", Tuple, TcpFlags.Syn, 0, 0, 0, 65535, options, "connect", "server", 1),
            new SegmentSent(At(5), seq++, "client", Tuple, TcpFlags.Fin | TcpFlags.Ack, uint.MaxValue, 12, 1448, 0, TcpOptions.None, "tcp_send_fin", null, 2),
            new SegmentSent(At(6), seq++, "client", Other, TcpFlags.Rst, 1, 2, 0, 1, new TcpOptions(WindowScale: 0), "reset", "nowhere"),
            new SegmentSent(At(6), seq++, "peer", Other, TcpFlags.Ack, 1, 2, 100, 1, TcpOptions.None, "inject", "server", 3, OptionBytes: 4),
            new SegmentSent(At(6), seq++, "peer", Other, TcpFlags.Ack, 1, 2, 0, 1, new TcpOptions(HasTimestamp: true, TsVal: 5), "inject", "server", 4, OptionBytes: 40),
            new SegmentDelivered(At(1_000_005), seq++, "server", Tuple, TcpFlags.Syn, 0, 0, 0, 1),
            new SegmentDropped(At(1_000_006), seq++, "client", Other, TcpFlags.Ack, 7, 8, -1, "loss", 2),
            new SegmentIgnored(At(1_000_006), seq++, "server", -1, Tuple, TcpFlags.None, "no socket"),
            new StateChanged(At(2_000_000), seq++, "client", 3, TcpState.Established, TcpState.FinWait1, "tcp_close"),
            new TimerArmed(At(2_000_000), seq++, "client", 3, TcpTimerKind.TimeWait, At(62_000_000_000)),
            new TimerArmed(At(2_000_001), seq++, "client", 3, TcpTimerKind.Retransmit, At(0)),
            new TimerFired(At(62_000_000_000), seq++, "client", 3, TcpTimerKind.TimeWait),
            new TimerCancelled(At(62_000_000_000), seq++, "server", int.MaxValue, TcpTimerKind.ReceiveTimeout),
            new CallIssued(At(62_000_000_001), seq++, "client", "app", 17, SocketCallKind.Close, 3, "fd=3"),
            new CallReturned(At(62_000_000_002), seq++, "client", "app", 17, SocketCallKind.Close, 3, 0, null, SimDuration.Zero),
            new CallReturned(At(62_000_000_002), seq++, "client", "app", 5, SocketCallKind.Recv, 3, -1, "ECONNRESET", new SimDuration(long.MaxValue), "h\u00e9\u00df\u2603 \ud83d\ude00"),
            new CallReturned(At(62_000_000_003), seq++, "client", "app", long.MaxValue, SocketCallKind.Getsockopt, 3, long.MinValue, "", new SimDuration(1), ""),
            new KernelLogged(At(62_000_000_003), seq++, "server", "TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies."),
            new DataDelivered(At(62_000_000_004), seq++, "server", 4, long.MaxValue),
            new DataLost(At(62_000_000_004), seq++, "server", 4, 1024, "reset"),
            new ProcessExited(At(62_000_000_005), seq++, "server", "app", "SIGKILL"),
            new SysctlChanged(At(62_000_000_005), seq++, "server", "net.ipv4.tcp_tw_reuse", "1"),
            new LinkChanged(At(long.MaxValue / 2), seq++, "client", "server", SimDuration.FromMilliseconds(10), 0.25, true),
            new LinkChanged(At(long.MaxValue), seq++, "server", "client", SimDuration.Zero, double.Epsilon, false),
            new LinkChanged(At(long.MaxValue), seq++, "client", "server", SimDuration.FromMilliseconds(7), 0.3, false, LossBySegment: true),
            new LinkChanged(At(long.MaxValue), seq++, "server", "client", SimDuration.FromMilliseconds(7), 0.3, true, LossBySegment: true),
        ];
    }

    /// <summary>
    /// lossBySegment is bit 1 of the byte that held only the blackhole: a link change without it encodes as before
    /// (so a page stored before reads back with LossBySegment false), with it the byte is 2 or 3.
    /// </summary>
    [Theory]
    [InlineData(false, false, 0)]
    [InlineData(true, false, 1)]
    [InlineData(false, true, 2)]
    [InlineData(true, true, 3)]
    public void LinkChanged_Flags_LastByteBeforeTheTrailer(bool blackhole, bool bySegment, byte expected)
    {
        var page = JournalPageCodec.Encode([new LinkChanged(new SimTime(5), 0, "client", "server", SimDuration.FromMilliseconds(7), 0.3, blackhole, bySegment)]);

        Assert.Equal(expected, page[^5]); // the byte before the 4-byte CRC-32 trailer
        Assert.Equal((blackhole, bySegment), JournalPageCodec.Decode(page) is [LinkChanged l] ? (l.Blackhole, l.LossBySegment) : default);
    }

    [Fact]
    public void EveryKind_CoversEveryMappedEventType() =>
        Assert.Equal(EventTypeMap.MappedTypes.Select(t => t.Name).Order(), EveryKind().Select(e => e.GetType().Name).Distinct().Order());

    [Fact]
    public void Page_EveryEventKind_DecodesToEqualEventsWithTheJsonOfAOneEventRow()
    {
        var events = EveryKind();

        var decoded = JournalPageCodec.Decode(JournalPageCodec.Encode(events));

        Assert.Equal(events, decoded);
        Assert.Equal(events.Select(e => EventTypeMap.ToRecord(Guid.Empty, e).PayloadJson), decoded.Select(EventTypeMap.Payload));
    }

    /// <summary>A real run's journal through the API's own path (pages of several sizes, then the journal items): the same items as one-event JSON rows give.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(JournalPageCodec.DefaultPageEvents)]
    [InlineData(JournalPageCodec.MaxEvents)]
    public void Pages_OfARealRun_ExpandToTheItemsOfOneEventRows(int pageEvents)
    {
        var journal = ScenarioRunner.Run(Infrastructure.ScenarioFiles.Read("examples/port-exhaustion-and-tw-reuse.json")).Result!.Simulation.Journal;
        var id = Guid.NewGuid();

        var pages = JournalPageBuilder.Of(id, journal, pageEvents);

        Assert.Equal((journal.Count + pageEvents - 1) / pageEvents, pages.Count);
        Assert.Equal(journal, JournalRows.Events(pages).ToList());
        var fromPages = pages.SelectMany(p => JournalRows.Items(p, -1, Any)).Select(Text);
        var fromJsonRows = journal.Select(e => EventTypeMap.ToRecord(id, e)).SelectMany(r => JournalRows.Items(r, -1, Any)).Select(Text);
        Assert.Equal(fromJsonRows, fromPages);
        Assert.All(pages, p => Assert.Equal(p.Types, JournalRows.Events(p).Aggregate(0, (bits, e) => bits | EventTypeMap.TypeBits([EventTypeMap.DiscriminatorOf(e)]))));
    }

    [Fact]
    public void Page_TruncatedAtAnyLength_IsAJournalPageFormatException()
    {
        var page = JournalPageCodec.Encode(EveryKind());

        for (int length = 0; length < page.Length; length++)
            Assert.Throws<JournalPageFormatException>(() => JournalPageCodec.Decode(page.AsSpan(0, length)));
    }

    [Fact]
    public void Page_AnyByteChanged_IsAJournalPageFormatException()
    {
        var page = JournalPageCodec.Encode(EveryKind());

        for (int i = 0; i < page.Length; i++)
        {
            var changed = (byte[])page.Clone();
            changed[i] ^= 0x5a;
            var e = Assert.Throws<JournalPageFormatException>(() => JournalPageCodec.Decode(changed));
            Assert.StartsWith("Journal page: ", e.Message);
        }
    }

    /// <summary>
    /// Past the checksum (a page changed and its checksum recomputed, as a bug in a writer would): every byte set to every
    /// value either decodes or is a <see cref="JournalPageFormatException"/> — never an index, overflow or null exception.
    /// </summary>
    [Fact]
    public void Page_BodyChangedWithAValidChecksum_DecodesOrIsAJournalPageFormatException()
    {
        var page = JournalPageCodec.Encode(EveryKind());
        int rejected = 0;

        for (int i = 0; i < page.Length - 4; i++)
            for (int value = 0; value < 256; value += 3)
            {
                var changed = (byte[])page.Clone();
                changed[i] = (byte)value;
                BinaryPrimitives.WriteUInt32LittleEndian(changed.AsSpan(changed.Length - 4), Crc32Of(changed.AsSpan(0, changed.Length - 4)));
                try
                {
                    JournalPageCodec.Decode(changed);
                }
                catch (JournalPageFormatException)
                {
                    rejected++;
                }
            }
        Assert.True(rejected > 0);
    }

    [Fact]
    public void Row_WhosePageHoldsOtherSequenceNumbers_IsAJournalPageFormatExceptionNamingTheRow()
    {
        var events = EveryKind();
        var row = JournalPageBuilder.Of(Guid.Empty, events, 100).Single();
        var wrong = new EventRecord { RunId = row.RunId, Seq = row.Seq + 1, LastSeq = row.LastSeq + 1, Page = row.Page };

        var e = Assert.Throws<JournalPageFormatException>(() => JournalRows.Events(wrong));
        Assert.Contains($"events {wrong.Seq}..{wrong.LastSeq}", e.Message);
    }

    [Fact]
    public void Page_UnknownVersion_IsAJournalPageFormatExceptionNamingIt()
    {
        var page = JournalPageCodec.Encode(EveryKind());
        page[2] = 2;

        Assert.Contains("version 2", Assert.Throws<JournalPageFormatException>(() => JournalPageCodec.Decode(page)).Message);
    }

    [Fact]
    public void Encode_PagesOfEveryLengthUpTo48Events_TrailerIsZlibsCrc32OfTheBody()
    {
        // Pages of 1…48 events: bodies of many lengths, so the checksum's eight-byte steps end at every remainder 0–7.
        var kinds = EveryKind();
        var remainders = new HashSet<int>();
        for (int n = 1; n <= 48; n++)
        {
            var events = Enumerable.Range(0, n).Select(i => kinds[i % kinds.Count] with { Seq = 41 + i }).ToList();
            var page = JournalPageCodec.Encode(events);
            var body = page.AsSpan(0, page.Length - 4);
            remainders.Add(body.Length % 8);

            Assert.Equal(Crc32Of(body), BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(page.Length - 4)));
            Assert.Equal(events, JournalPageCodec.Decode(page));
        }
        Assert.Equal(8, remainders.Count);
    }

    private static bool Any(long seq, long atNs, string type, string? host, int? socket) => true;

    private static string Text(JournalItem item) => $"{item.Seq} {item.AtNs} {item.Type} {item.Host} {item.SocketId} {item.Data.GetRawText()}";

    /// <summary>CRC-32 as zlib computes it (the page's trailer), written out here so the test does not use the code under test.</summary>
    private static uint Crc32Of(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
