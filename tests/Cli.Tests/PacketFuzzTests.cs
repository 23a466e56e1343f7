extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Tests;

/// <summary>
/// Record mode and the packetdrill-style differential fuzzer (<c>simservice run --record</c>, <c>simservice kernel
/// --record</c>, <c>simservice kernel --fuzz-pkt</c>): the generator is deterministic per seed and its cases run on the
/// engine; the comparison passes equal recordings, calls a late segment timing and a changed one a difference; on the
/// real kernel (root only, skipped otherwise as the other kernel tests) a generated case is compared end to end.
/// </summary>
[Collection(RealKernelCollection.Name)]
public sealed class PacketFuzzTests
{
    [Fact]
    public void Generator_SameSeed_SameScript_OtherSeed_OtherScript()
    {
        var first = PacketCaseGenerator.Generate(42);

        Assert.Equal(first, PacketCaseGenerator.Generate(42));
        Assert.NotEqual(first, PacketCaseGenerator.Generate(43));
        Assert.StartsWith("// simservice kernel --fuzz-pkt 1 --seed 42: ", first, StringComparison.Ordinal);
    }

    [Fact]
    public void Generator_Cases_ParseAndRunOnTheEngineInRecordMode()
    {
        for (long seed = 1; seed <= 40; seed++)
        {
            var text = PacketCaseGenerator.Generate(seed);
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");

            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
            // Every case opens a connection: the first segment is a SYN (active) or a SYN-ACK (passive), at ISN 0.
            var first = recording!.First(e => e.Kind == RecordedKind.Packet);
            Assert.Matches(@"^S\.? 0:0\(0\)", first.Text);
            Assert.Contains(recording!, e => e.Kind == RecordedKind.Info && e.Text.StartsWith("tcpi_state = ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Generator_Edges_EveryEdgeDrawn_CasesRunOnTheEngine()
    {
        var seen = new HashSet<string>();
        for (long seed = 7000; seed < 7040; seed++)
        {
            var text = PacketCaseGenerator.Generate(seed, edges: true);
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, edges: true));
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
            if (text.Contains("shutdown(", StringComparison.Ordinal) && text.Contains("SHUT_RD", StringComparison.Ordinal)) seen.Add("shut-rd");
            if (text.Contains("listen(", StringComparison.Ordinal) && !text.Contains("accept(", StringComparison.Ordinal)) seen.Add("syn-recv");
            if (text.Contains("connect(", StringComparison.Ordinal) && recording!.Count(e => e.Kind == RecordedKind.Packet && e.Text.StartsWith("S 0:0", StringComparison.Ordinal)) > 0) seen.Add("syn-sent");
        }

        Assert.Equal(["shut-rd", "syn-recv", "syn-sent"], seen.Order());
    }

    [Fact]
    public void Generator_TimeWaitEdge_WalkIsSegmentsTimeWaitJudges_CasesRunOnTheEngine()
    {
        // The TIME-WAIT edge's walk sends only what tcp_timewait_state_process() judges: RSTs (at rcv_nxt, with and
        // without ACK, and elsewhere), FINs, old data, SYNs and bare ACKs — no calls after the close.
        var kinds = new HashSet<string>();
        int timeWaitCases = 0, rstCases = 0, rfc1337 = 0;
        for (long seed = 9300; seed < 9400; seed++)
        {
            var text = PacketCaseGenerator.Generate(seed, edges: true, sysctls: true);
            var lines = text.Split('\n');
            int edge = Array.FindIndex(lines, l => l.StartsWith("// edge: TIME-WAIT", StringComparison.Ordinal));
            if (edge < 0) continue;
            Assert.Contains("close(", lines[edge - 2] + lines[edge - 3] + lines[edge - 4], StringComparison.Ordinal);
            var walk = lines[(edge + 1)..].Where(l => l.Length > 0).ToList();
            timeWaitCases++;
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, edges: true, sysctls: true));
            Assert.DoesNotContain(walk, l => l.Contains("write(", StringComparison.Ordinal) || l.Contains("setsockopt(", StringComparison.Ordinal));
            foreach (var l in walk)
            {
                var m = System.Text.RegularExpressions.Regex.Match(l, @"< (R\.|R|F\.|P\.|S|\.) ");
                if (m.Success) kinds.Add(m.Groups[1].Value);
            }
            if (walk.Count(l => l.Contains("< R", StringComparison.Ordinal)) >= 2) rstCases++;
            if (lines[1].Contains("tcp_rfc1337=1", StringComparison.Ordinal)) rfc1337++;
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
        }

        Assert.Equal([".", "F.", "P.", "R", "R.", "S"], kinds.Order(StringComparer.Ordinal));
        Assert.InRange(timeWaitCases, 10, 40);
        Assert.InRange(rstCases, 5, 40);
        // tcp_rfc1337 is drawn from the sysctls' own stream: both the killing RST and the ignored one are met.
        Assert.InRange(rfc1337, 2, timeWaitCases - 2);
    }

    [Fact]
    public void Generator_Sysctls_LeadingSysctlLine_SameWalkStream_CasesRunOnTheEngine()
    {
        var drawn = new HashSet<string>();
        for (long seed = 9000; seed < 9040; seed++)
        {
            var text = PacketCaseGenerator.Generate(seed, edges: seed % 2 == 0, sysctls: true);
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, edges: seed % 2 == 0, sysctls: true));
            var lines = text.Split('\n');
            Assert.Contains(" --fuzz-sysctls: ", lines[0], StringComparison.Ordinal);
            var sysctl = System.Text.RegularExpressions.Regex.Match(lines[1], @"^\s+\+0 `sysctl -q( net\.ipv4\.\w+=\d+)+`$");
            Assert.True(sysctl.Success, lines[1]);
            foreach (System.Text.RegularExpressions.Capture c in sysctl.Groups[1].Captures) drawn.Add(c.Value.Trim()[9..c.Value.Trim().IndexOf('=')]);
            // The walk is the one of the same seed without sysctls (its own stream), but for the TS options a socket
            // without timestamps makes the peer leave out.
            if (!lines[1].Contains("tcp_timestamps=0", StringComparison.Ordinal))
                Assert.Equal(PacketCaseGenerator.Generate(seed, edges: seed % 2 == 0).Split('\n')[1..], lines[2..]);
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
        }

        Assert.Contains("tcp_rfc1337", drawn);
        Assert.Contains("tcp_sack", drawn);
        Assert.Contains("tcp_timestamps", drawn);
    }

    [Theory]
    [InlineData(1, false, false, "A59FC6EB3688E77081BD8F08")]
    [InlineData(7000, true, false, "F2F22F94540E45D42EE5DE9E")]
    [InlineData(9000, true, true, "B8B00AD345491CFDC5612FCE")]
    [InlineData(9300, false, true, "C5C4925415F6CF67B457FADE")]
    public void Generator_EarlierSeeds_WriteTheSameCasesByteForByte(long from, bool edges, bool sysctls, string sha256)
    {
        // The seeds of docs/kernel-check.md's runs must keep writing the cases that were run: a hash of 100 of them each.
        var all = string.Concat(Enumerable.Range(0, 100).Select(i => PacketCaseGenerator.Generate(from + i, edges, sysctls)));

        Assert.Equal(sha256, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(all)))[..24]);
    }

    /// <summary>--fuzz-teardown's cases of seeds 10000–10199, by their "// teardown: NAME" line.</summary>
    static readonly Lazy<ILookup<string, (long Seed, string Text)>> TeardownCases = new(() => Enumerable.Range(10000, 200)
        .Select(i => (Seed: (long)i, Text: PacketCaseGenerator.Generate(i, sysctls: i % 3 == 0, teardown: true)))
        .ToLookup(c => System.Text.RegularExpressions.Regex.Match(c.Text, "// teardown: ([a-z-]+)").Groups[1].Value));

    [Theory]
    [InlineData("shutdown-then-close", @"shutdown\(\d, SHUT_(RD|RDWR|WR)\) = 0(.|\n)*close\(")]
    [InlineData("unread-at-close", @"< P\. (.|\n)*close\(")]
    [InlineData("nodelay-cork", @"SOL_TCP, TCP_(NODELAY|CORK), \[1\](.|\n)*write\((.|\n)*write\(")]
    [InlineData("zero-window-close", @"write\((.|\n)*< \. \d+:\d+\(0\) ack \d+ win 0(.|\n)*write\((.|\n)*(close|shutdown)\(")]
    [InlineData("small-rcvbuf", @"setsockopt\(3, SOL_SOCKET, SO_RCVBUF, \[\d+\], 4\) = 0\n(.|\n)*(listen|connect)\((.|\n)*< P\.(.|\n)*< P\.")]
    [InlineData("window-shrink", @"write\(\d, \.\.\., [235]000\)(.|\n)*< \. \d+:\d+\(0\) ack \d+ win (0|1|100|500)\b")]
    [InlineData("ofo-fin", @"< F\. (\d+):")]
    [InlineData("sack-reneging", @"< \. \d+:\d+\(0\) ack 1 win \d+ <[^>]*sack (\d+):\d+>(.|\n)*< \. \d+:\d+\(0\) ack \1 win")]
    [InlineData("user-timeout", @"TCP_USER_TIMEOUT, \[\d+\](.|\n)*write\(")]
    [InlineData("defer-accept", @"setsockopt\(3, SOL_TCP, TCP_DEFER_ACCEPT, \[[125]\], 4\) = 0\n(.|\n)*listen\((.|\n)*< \. (.|\n)*accept\(3, \.\.\., \.\.\.\) = 4")]
    public void Generator_Teardown_EachDrawWritesItsShape_CasesRunOnTheEngine(string draw, string shape)
    {
        var cases = TeardownCases.Value[draw].ToList();

        Assert.InRange(cases.Count, 3, 80);
        foreach (var (seed, text) in cases.Take(6))
        {
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, sysctls: seed % 3 == 0, teardown: true));
            Assert.Contains(" --fuzz-teardown", text.Split('\n')[0], StringComparison.Ordinal);
            Assert.Matches(shape, text);
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
            Assert.Contains(recording!, e => e.Kind == RecordedKind.Info && e.Text.StartsWith("tcpi_state = ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Generator_Teardown_EveryDrawMet_WeightedAsListed()
    {
        var counts = PacketCaseGenerator.TeardownDraws.ToDictionary(d => d.Name, d => TeardownCases.Value[d.Name].Count());

        Assert.Equal(200, counts.Values.Sum());
        // 200 draws at weight w of 20 give about 10·w each; sack-reneging and defer-accept fall back when SACK is off or
        // the open is active, so they get fewer.
        Assert.All(counts, c => Assert.InRange(c.Value, 3, 80));
        Assert.True(counts["unread-at-close"] > counts["defer-accept"], string.Join(", ", counts));
    }

    /// <summary>--fuzz-rcv's cases of seeds 37400–37559: each receive-path move by its "// rcv: NAME" line and the segment after it.</summary>
    static readonly Lazy<List<(long Seed, string Text)>> ReceiveCases = new(() => Enumerable.Range(37400, 160)
        .Select(i => (Seed: (long)i, Text: PacketCaseGenerator.Generate(i, teardown: i % 4 == 0, receive: true))).ToList());

    [Theory]
    [InlineData("ofo-beyond-hole", @"^\s*\+[\d.]+ < (F|P)?\. \d+:\d+\(\d+\) ack")]
    [InlineData("ofo-adjacent", @"^\s*\+[\d.]+ < (F|P)?\. \d+:\d+\(\d+\) ack")]
    [InlineData("ofo-fin-then-data", @"^\s*\+[\d.]+ < F\. \d+:(\d+)\(\d+\) ack [^\n]*\n\s*\+[\d.]+ < P\. \d+:")]
    [InlineData("fill-hole", @"^\s*\+[\d.]+ < P\. \d+:\d+\(\d+\) ack")]
    [InlineData("cover-queued", @"^\s*\+[\d.]+ < P\. \d+:\d+\(\d+\) ack")]
    [InlineData("multi-sack-ack", @"^\s*\+[\d.]+ < \. \d+:\d+\(0\) ack \d+ win \d+ <[^>]*sack \d+:\d+ \d+:\d+")]
    [InlineData("rst-in-window", @"^\s*\+[\d.]+ < R\.? \d+:\d+\(0\)")]
    [InlineData("data-to-closed-rcv", @"^\s*\+[\d.]+ (shutdown\(\d, SHUT_RD\) = 0|close\(\d\) = 0)\n\s*\+[\d.]+ < F?P\. |^\s*\+[\d.]+ < F?P\. ")]
    public void Generator_Receive_EachMoveWritesItsSegments_CasesRunOnTheEngine(string move, string shape)
    {
        var cases = ReceiveCases.Value.Where(c => c.Text.Contains($"// rcv: {move}\n", StringComparison.Ordinal)).ToList();

        Assert.InRange(cases.Count, 3, 160);
        foreach (var (seed, text) in cases.Take(5))
        {
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, teardown: seed % 4 == 0, receive: true));
            Assert.Contains(" --fuzz-rcv", text.Split('\n')[0], StringComparison.Ordinal);
            var after = text[(text.IndexOf($"// rcv: {move}\n", StringComparison.Ordinal) + move.Length + 9)..];
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(after, shape), $"seed {seed}: {after[..after.IndexOf('\n', StringComparison.Ordinal)]}");
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
            Assert.Contains(recording!, e => e.Kind == RecordedKind.Info && e.Text.StartsWith("tcpi_state = ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Generator_Receive_OnlyItsOwnMode_OtherModesWriteWhatTheyWrote()
    {
        // The receive moves draw from the walk's stream only under --fuzz-rcv: without it a seed writes its case as before.
        for (long seed = 37400; seed < 37420; seed++)
        {
            Assert.DoesNotContain("// rcv: ", PacketCaseGenerator.Generate(seed), StringComparison.Ordinal);
            Assert.NotEqual(PacketCaseGenerator.Generate(seed), PacketCaseGenerator.Generate(seed, receive: true));
        }
        // An exact fill of the first hole moves rcv_nxt past the queued segments: the next in-order data starts after them.
        Assert.Contains(ReceiveCases.Value, c => System.Text.RegularExpressions.Regex.IsMatch(c.Text,
            @"< (P)?\. (\d+):(\d+)\(\d+\) ack[^\n]*\n(\s*\+[\d.]+ [^<\n][^\n]*\n)*// rcv: fill-hole\n\s*\+[\d.]+ < P\. \d+:\2\("));
    }

    /// <summary>--fuzz-opts' cases of seeds 38700–38779: the walk of the same seed without it, the peer's option lists odd.</summary>
    [Fact]
    public void Generator_Options_SameWalkOddOptionLists_CasesRunOnTheEngine()
    {
        var seen = new HashSet<string>();
        for (long seed = 38700; seed < 38780; seed++)
        {
            string text = PacketCaseGenerator.Generate(seed, teardown: seed % 3 == 0, options: true);
            Assert.Equal(text, PacketCaseGenerator.Generate(seed, teardown: seed % 3 == 0, options: true));
            var lines = text.Split('\n');
            Assert.Contains(" --fuzz-opts: ", lines[0], StringComparison.Ordinal);
            // Only the options differ (and the SYN's MSS, in the first line): the same lines, calls and segments.
            var plain = PacketCaseGenerator.Generate(seed, teardown: seed % 3 == 0).Split('\n');
            static string Bare(string l) => System.Text.RegularExpressions.Regex.Replace(l, " <[^<>]*>$", "");
            Assert.Equal(plain[1..].Select(Bare), lines[1..].Select(Bare));
            foreach (var l in lines.Where(l => l.Contains(" < ", StringComparison.Ordinal) && l.EndsWith('>')))
            {
                var list = l[(l.LastIndexOf('<') + 1)..^1].Split(',');
                Assert.InRange(PacketCaseGenerator.OptionBytes(list), 4, 40);
                Assert.Equal(0, PacketCaseGenerator.OptionBytes(list) % 4);
                if (l.Contains("eol,nop,TS", StringComparison.Ordinal) || l.Contains("nop,eol,TS", StringComparison.Ordinal)) seen.Add("eol-before-ts");
                if (l.Contains("<eol,nop,nop,nop", StringComparison.Ordinal)) seen.Add("eol-first");
                if (!l.Contains(" < S", StringComparison.Ordinal) && (l.Contains("mss ", StringComparison.Ordinal) || l.Contains("wscale", StringComparison.Ordinal) || l.Contains("sackOK", StringComparison.Ordinal))) seen.Add("syn-option");
                if (list.Count(o => o.StartsWith("TS ", StringComparison.Ordinal)) == 2) seen.Add("ts-twice");
                if (l.Contains(",sack ", StringComparison.Ordinal) && !lines[0].Contains(", sack", StringComparison.Ordinal)) seen.Add("sack-not-agreed");
                if (System.Text.RegularExpressions.Regex.IsMatch(l, @" < S\.? .*(mss (1|48|64|88|200),|wscale (15|16|255))")) seen.Add("syn-past-bounds");
            }
            if (seed % 8 != 0) continue;
            var (recording, error) = PacketFuzz.OnEngine(text, $"fuzz-{seed}.pkt");
            Assert.True(recording is not null, $"seed {seed}: {error}\n{text}");
        }

        Assert.Equal(["eol-before-ts", "eol-first", "sack-not-agreed", "syn-option", "syn-past-bounds", "ts-twice"], seen.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The kernel runner's warm-up takes record mode's notebook once before the clock starts (session 22: compiled on the
    /// first segment recorded, the SYN-ACK line of every record-mode script was written 5–7 ms late, lengthening the
    /// kernel's handshake RTT sample — one tick later after the fix at a load of 33): a segment with the options a kernel
    /// sends, through the runner's flag letters and the TS clock, a call and a tcp_info value, on a throwaway recorder.
    /// </summary>
    [Fact]
    public void Record_KernelRunnerWarmUp_RecordsEveryKindOnceOnAThrowawayRecorder()
    {
        var events = KernelScriptRunner.WarmUpRecording();

        Assert.Equal(new[] { RecordedKind.Packet, RecordedKind.Call, RecordedKind.Info }, events.Select(e => e.Kind));
        Assert.Equal("P. 1:1(0) ack 1 win 0 <nop,TS val * ecr 0,sack 1:2>", events[0].Text);
        Assert.Equal(0, events[0].TsVal);
        Assert.Equal(new[] { "read(-1) = -1 EAGAIN -> 0", "tcpi_state = none" }, events.Skip(1).Select(e => e.Text));
    }

    [Fact]
    public void Record_EngineRecording_TimesSeqRelativeTsValFromTheFirst()
    {
        var (recording, error) = PacketFuzz.OnEngine(Handshake + """
               +0 write(4, ..., 10) = 10
              +.1 %{ assert tcpi_state >= 0 }%
            """, "t.pkt");

        Assert.Null(error);
        Assert.Equal(
        [
            "0.000000 > S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 700,nop,wscale 10>",
            "0.010000 > P. 1:11(10) ack 1 win 64 <nop,nop,TS val 10 ecr 710>",
        ], recording!.Where(e => e.Kind == RecordedKind.Packet).Select(e => e.ToString()));
        Assert.Equal("0.010000 line 8: write(4, ..., 10) = 10", recording!.Single(e => e.Line == 8).ToString());
        Assert.Equal("0.110000 line 9: tcpi_state = 1", recording!.Single(e => e.Kind == RecordedKind.Info).ToString());
    }

    [Fact]
    public void Record_TwoConnections_EachSegmentNumberedFromItsOwnConnectionsIsn()
    {
        // The second connection's SYN-ACK comes last; the first one's data and FIN are still numbered from the first's ISN.
        var (recording, error) = PacketFuzz.OnEngine("""
                   0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                  +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
                  +0 bind(3, ..., ...) = 0
                  +0 listen(3, 2) = 0
                  +0 < 47001>8080 S 0:0(0) win 4000 <mss 1000>
                +.01 < 47001>8080 . 1:1(0) ack 1 win 4000
                  +0 accept(3, ..., ...) = 4
                  +0 < 47002>8080 S 0:0(0) win 4000 <mss 1000>
                +.01 < 47002>8080 . 1:1(0) ack 1 win 4000
                  +0 accept(3, ..., ...) = 5
                  +0 write(4, ..., 10) = 10
                +.01 close(4) = 0
            """, "two.pkt");

        Assert.Null(error);
        Assert.Equal(
        [
            "0.000000 > S. 0:0(0) ack 1 win 64240 <mss 1460>",
            "0.010000 > S. 0:0(0) ack 1 win 64240 <mss 1460>",
            "0.020000 > P. 1:11(10) ack 1 win 64240",
            "0.030000 > F. 11:11(0) ack 1 win 64240",
        ], recording!.Where(e => e.Kind == RecordedKind.Packet).Select(e => e.ToString()));
    }

    [Fact]
    public void Compare_EqualRecordings_Same()
    {
        var engine = Recorded();

        Assert.Equal(RecordingVerdict.Same, RecordingComparison.Compare(engine, Recorded(shiftNs: 3_900_000), 4_000_000).Verdict);
    }

    [Fact]
    public void Compare_ASegmentLateBeyondTheTolerance_TimingOnly()
    {
        var comparison = RecordingComparison.Compare(Recorded(), Recorded(shiftNs: 4_200_000), 4_000_000);

        Assert.Equal(RecordingVerdict.TimingOnly, comparison.Verdict);
        Assert.Equal(RecordedKind.Packet, comparison.First!.Kind);
        Assert.True(comparison.First.TimingOnly);
    }

    [Fact]
    public void Compare_ASegmentTwoTicksLate_IsADifference()
    {
        var comparison = RecordingComparison.Compare(Recorded(), Recorded(shiftNs: 40_000_000), 4_000_000);

        Assert.Equal(RecordingVerdict.Different, comparison.Verdict);
        Assert.False(comparison.First!.TimingOnly);
        Assert.Equal(0, comparison.First.Index);
    }

    [Fact]
    public void Compare_APlantedDifference_IsReportedAtItsSegment()
    {
        var kernel = Recorded(change: "R. 1:1(0) ack 1 win 0");

        var comparison = RecordingComparison.Compare(Recorded(), kernel, 4_000_000);

        Assert.Equal(RecordingVerdict.Different, comparison.Verdict);
        var first = comparison.First!;
        Assert.Equal((RecordedKind.Packet, 1), (first.Kind, first.Index));
        Assert.Equal("0.010000 > F. 1:1(0) ack 1 win 502", first.Engine!.ToString());
        Assert.Equal("0.010000 > R. 1:1(0) ack 1 win 0", first.Kernel!.ToString());
        Assert.Contains("differs: packet #2", first.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A differing case says which kernel runs' jiffies were not lined up with the engine's: pkt 24316 (session 24) had
    /// its third RTO on a level-1 wheel bucket 27 ms before the engine's in all three runs and 1.504 s as the engine in
    /// 16 runs of session 25 — a run's clock, which the verdict did not show.
    /// </summary>
    [Fact]
    public void Write_DifferingCaseWithMisalignedRuns_NamesThem()
    {
        var comparison = RecordingComparison.Compare(Recorded(), Recorded(shiftNs: 40_000_000), 4_000_000);
        var result = new RecordedCase(comparison, 3, Recorded(), Recorded(shiftNs: 40_000_000), null)
        {
            Misaligned = ["run 1: the kernel's jiffies were 1 ahead of the engine's (mod 512) during the run"],
        };
        var output = new StringWriter();

        Assert.True(PacketFuzz.Write(output, "seed 1", result, verbose: false));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("DIFFER ", lines[0], StringComparison.Ordinal);
        Assert.Equal("         note: run 1: the kernel's jiffies were 1 ahead of the engine's (mod 512) during the run", lines[^1]);
    }

    /// <summary>
    /// --counters with --record or --fuzz-pkt: under the case's verdict, its counter changes on the engine and in the kept
    /// kernel run compared (fuzz-3901 of --fuzz-opts before session 39: a 4-byte EOL-padded list read as none on the
    /// engine), counted in the summary; a case that did not run on the kernel is named, not compared; without --counters nothing.
    /// </summary>
    [Fact]
    public void WriteCounters_CaseCountersCompared_DifferenceListedAndCounted()
    {
        var agreeing = new RecordedCase(RecordingComparison.Compare(Recorded(), Recorded(), 4_000_000), 1, Recorded(), Recorded(), null);
        var differing = agreeing with
        {
            EngineCounters = new Dictionary<string, long> { ["IpExt.InOctets"] = 1916 },
            KernelCounters = new Dictionary<string, long> { ["IpExt.InOctets"] = 1980 },
        };
        var counters = new CounterComparison();
        var output = new StringWriter();

        PacketFuzz.WriteCounters(output, counters, "seed 3901", differing);
        PacketFuzz.WriteCounters(output, counters, "seed 3902", agreeing with { EngineCounters = new Dictionary<string, long>() });
        PacketFuzz.WriteCounters(output, null, "seed 3903", differing);

        Assert.Equal(["         counter IpExt.InOctets: engine 1916, kernel 1980", "         counters: not compared (it did not run on the kernel)"],
            output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("counters: 1 files compared, 0 agree; 1 not compared", counters.Summary().First(), StringComparison.Ordinal);
    }

    [Fact]
    public void InboundLagged_SecondOfTwoSameInstantInboundSegmentsLater_LaterEventsNotBeforeIt_TimesAfterTheNextGapKept()
    {
        const string script = """
            // c
                   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                +0.01 < F. 1:1(0) ack 1 win 257
                   +0 < . 5:5(0) ack 1 win 257
                   +0 < R 1:1(0) win 0
                   +0 %{ assert tcpi_state >= 0 }%
              +0.0015 read(3, ..., 10) = 0
                +0.01 < . 1:1(0) ack 1 win 257

            """;

        Assert.Equal("""
            // c
                   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                +0.01 < F. 1:1(0) ack 1 win 257
               +0.001 < . 5:5(0) ack 1 win 257
               +0.001 < R 1:1(0) win 0
                   +0 %{ assert tcpi_state >= 0 }%
                   +0 read(3, ..., 10) = 0
              +0.0095 < . 1:1(0) ack 1 win 257

            """, PacketFuzz.InboundLagged(script, 1000));
        Assert.Null(PacketFuzz.InboundLagged(script.Replace("   +0 < .", "+0.002 < .", StringComparison.Ordinal).Replace("   +0 < R", "+0.002 < R", StringComparison.Ordinal), 1000));
        Assert.Null(PacketFuzz.InboundLagged(script.Replace("+0.01 < F.", " 0.01 < F.", StringComparison.Ordinal), 1000));
    }

    /// <summary>
    /// pkt 25311 (sessions 25 and 28): a FIN before any data, then at the same script instant an out-of-window ACK. The
    /// FIN's ACK waits for the next tick (ato 0), 0.8 ms away; the engine takes both segments in that instant, so the
    /// dupack carries it (one ACK), while the kernel runner writes the second segment 0.7–0.9 ms after the first, and in
    /// half the runs the tick came between (two ACKs, 4.044148 and 4.044448 on 6.18.44). Written 0.9 ms later (the
    /// largest lag measured) the engine gives the kernel's two; 0.5 ms later it does not (the tick is not crossed). A
    /// kernel difference of another kind is no edge.
    /// </summary>
    [Fact]
    public void EdgeLag_25311sFinAckRacingTheTick_TheEngineWithTheSecondSegmentAtTheLargestMeasuredLagGivesTheKernelsTwoAcks()
    {
        string text = PacketCaseGenerator.Generate(25311, edges: false, sysctls: true);
        var engine = PacketFuzz.OnEngine(text, "fuzz-25311.pkt").Recording!;
        int i = engine.ToList().FindIndex(e => e.Kind == RecordedKind.Packet && e.AtNs == 4_043_193_000);
        Assert.Equal("4.043193 > . 1001:1001(0) ack 2147483002 win 64239 <nop,nop,TS val 4043 ecr 4294961640>", engine[i].ToString());
        var kernel = engine.ToList();
        kernel[i] = engine[i] with { AtNs = 4_044_148_000, TsVal = 4044 };
        kernel.Insert(i + 1, engine[i] with { AtNs = 4_044_448_000, TsVal = 4044 });

        Assert.Equal(RecordingVerdict.Different, RecordingComparison.Compare(engine, kernel, 4_000_000).Verdict);
        Assert.Equal(new LaggedEdge(0.9, EdgeLagKind.SameInstantInbound), PacketFuzz.EdgeLag(text, "fuzz-25311.pkt", kernel));
        kernel[i + 1] = engine[i] with { AtNs = 4_044_448_000, TsVal = 4044, Text = engine[i].Text.Replace("win 64239", "win 64238", StringComparison.Ordinal) };
        Assert.Null(PacketFuzz.EdgeLag(text, "fuzz-25311.pkt", kernel));
    }

    [Fact]
    public void CallsLagged_EachCallLaterNeverBeforeTheEventBefore_SegmentsAndBlocksKeepTheirTimes()
    {
        const string script = """
            // c
                   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                +0.01 < S 0:0(0) win 257
                   +0 %{ assert tcpi_state >= 0 }%
               +0.002 write(3, ..., 10) = 10
                   +0 close(3) = 0
                +0.01 < . 1:1(0) ack 1 win 257

            """;

        static IEnumerable<string[]> Events(string text) =>
            text.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.TrimStart().Split(' ', 2));
        var lagged = Events(PacketFuzz.CallsLagged(script, 1000)!).ToList();
        Assert.Equal(["+0.001", "+0.009", "+0", "+0.003", "+0", "+0.009"], lagged.Select(e => e[0]));
        Assert.Equal(Events(script).Select(e => e[1]), lagged.Select(e => e[1]));
        Assert.Null(PacketFuzz.CallsLagged("+0 < S 0:0(0) win 257\n+0.01 %{ assert tcpi_state >= 0 }%\n", 1000));
        Assert.Null(PacketFuzz.CallsLagged(script.Replace("+0.002 write", " 0.012 write", StringComparison.Ordinal), 1000));
    }

    /// <summary>
    /// pkt 35204 (sessions 35 and 36): a write() at 2.955961 s, 39 µs before a tick, to a peer window of 257 bytes; its
    /// loss probe (53 jiffies: the RTO from a 10 ms handshake sample) and the RTO the probe re-arms run on ticks counted
    /// from the write's jiffy. On 6.18.44 the runner's write came 131 µs late, past the tick (its segment at 2.956092),
    /// and the probe left at 3.172098 and the resend at 3.388111 (session 36; timing only) or at 3.392 (session 35, all three runs:
    /// DIFFER, over 8 ms past the engine's 3.384). With its calls half a millisecond later the engine gives 3.172 and 3.388.
    /// Without that lag it differs; a kernel segment of another text is no edge.
    /// </summary>
    [Fact]
    public void EdgeLag_35204sWriteJustBeforeATick_TheEngineWithItsCallsLaterGivesTheKernelsProbeAndResend()
    {
        string text = PacketCaseGenerator.Generate(35204);
        var engine = PacketFuzz.OnEngine(text, "fuzz-35204.pkt").Recording!;
        int probe = engine.ToList().FindIndex(e => e.Kind == RecordedKind.Packet && e.AtNs == 3_168_000_000);
        int resend = engine.ToList().FindIndex(e => e.Kind == RecordedKind.Packet && e.AtNs == 3_384_000_000);
        Assert.Equal("3.168000 > P. 1:258(257) ack 2147483001 win 65160 <nop,nop,TS val 3168 ecr 4294960000>", engine[probe].ToString());
        Assert.StartsWith("3.384000 > P. 250:258(8) ", engine[resend].ToString(), StringComparison.Ordinal);
        var kernel = engine.ToList();
        kernel[probe] = engine[probe] with { AtNs = 3_172_098_000, TsVal = 3172 };
        kernel[resend] = engine[resend] with { AtNs = 3_392_111_000, TsVal = 3392 };

        Assert.Equal(RecordingVerdict.Different, RecordingComparison.Compare(engine, kernel, 4_000_000).Verdict);
        Assert.Equal(new LaggedEdge(0.5, EdgeLagKind.Calls), PacketFuzz.EdgeLag(text, "fuzz-35204.pkt", kernel));
        kernel[resend] = kernel[resend] with { Text = engine[resend].Text.Replace("win 65160", "win 65159", StringComparison.Ordinal) };
        Assert.Null(PacketFuzz.EdgeLag(text, "fuzz-35204.pkt", kernel));
    }

    /// <summary>
    /// pkt 36002 (session 36, load 30): the runner wrote the SYN 3.065 ms late (the kernel's SYN-ACK at 0.003065 s), the
    /// handshake's ACK on time at 0.010, so 6.18.44 took a 6.9 ms RTT sample: RTO 52 jiffies, not the engine's 53. Its
    /// backoffs after a 1-byte write at 4.052374 s: 4.264216 (the engine 4.268), 4.704, 5.568, then 7.264120 — a level-1
    /// bucket (32 ms) before the engine's 7.296, in all three runs. With the SYN at the kernel's answer the engine gives
    /// 4.264 and 7.264 (and TS vals 3 lower, as the kernel's). A SYN-ACK on time leaves nothing to explain it.
    /// </summary>
    [Fact]
    public void EdgeLag_36002sLateSyn_TheEngineWithTheSynAtTheKernelsSynAckGivesTheKernelsRtoChain()
    {
        string text = PacketCaseGenerator.Generate(36002);
        var engine = PacketFuzz.OnEngine(text, "fuzz-36002.pkt").Recording!;
        var kernel = engine.ToList();
        int Packet(long atNs) => kernel.FindIndex(e => e.Kind == RecordedKind.Packet && e.AtNs == atNs);
        Assert.Equal("7.296000 > P. 1:2(1) ack 1 win 65160 <nop,nop,TS val 7296 ecr 4294960000>", kernel[Packet(7_296_000_000)].ToString());
        kernel[Packet(0)] = kernel[Packet(0)] with { AtNs = 3_065_000 };
        kernel[Packet(4_268_000_000)] = kernel[Packet(4_268_000_000)] with { AtNs = 4_264_216_000, TsVal = 4261 };
        kernel[Packet(7_296_000_000)] = kernel[Packet(7_296_000_000)] with { AtNs = 7_264_120_000, TsVal = 7261 };

        Assert.Equal(RecordingVerdict.Different, RecordingComparison.Compare(engine, kernel, 4_000_000).Verdict);
        Assert.Equal(new LaggedEdge(3.065, EdgeLagKind.KernelAnswers, "line 7 by 3.065 ms"), PacketFuzz.EdgeLag(text, "fuzz-36002.pkt", kernel));
        kernel[Packet(3_065_000)] = kernel[Packet(3_065_000)] with { AtNs = 0 };
        Assert.Null(PacketFuzz.EdgeLag(text, "fuzz-36002.pkt", kernel));
    }

    /// <summary>
    /// review36 S-3: an event is moved to the kernel's answer only when the engine answers it at once. A getsockopt() at the
    /// instant of the write's retransmission (0.324 s, its RTO timer) does not send it, so the kernel's retransmission 5 ms
    /// later moves nothing (it was moved: any event at such an instant was); the write's own data 5 ms later moves the write,
    /// named by its line.
    /// </summary>
    [Fact]
    public void AnswerTimed_ATimersSegmentAtACallsInstant_OnlyTheEventTheSegmentAnswersMoves()
    {
        const string text = """
                   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
                   +0 bind(3, ..., ...) = 0
                   +0 listen(3, 1) = 0
                   +0 < S 0:0(0) win 65535 <mss 1460,nop,wscale 7>
                +0.01 < . 1:1(0) ack 1 win 257
                   +0 accept(3, ..., ...) = 4
                 +0.1 write(4, ..., 10) = 10
               +0.214 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
                 +0.5 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0

            """;
        var engine = PacketFuzz.OnEngine(text, "rto.pkt").Recording!;
        var kernel = engine.ToList();
        int Packet(long atNs) => kernel.FindIndex(e => e.Kind == RecordedKind.Packet && e.AtNs == atNs);
        Assert.Equal("0.324000 > P. 1:11(10) ack 1 win 63", kernel[Packet(324_000_000)].ToString());
        kernel[Packet(324_000_000)] = kernel[Packet(324_000_000)] with { AtNs = 329_000_000 };

        Assert.Null(PacketFuzz.AnswerTimed(text, "rto.pkt", engine, kernel, 8_000_000));
        kernel[Packet(110_000_000)] = kernel[Packet(110_000_000)] with { AtNs = 115_000_000 };
        Assert.Equal([(8, 5000L)], PacketFuzz.AnswerTimed(text, "rto.pkt", engine, kernel, 8_000_000)!.Value.Moves);
    }

    [Fact]
    public void Write_EdgeCase_SaysSoAndIsNotADifference()
    {
        var comparison = RecordingComparison.Compare(Recorded(), Recorded(shiftNs: 40_000_000), 4_000_000);
        var output = new StringWriter();

        Assert.False(PacketFuzz.Write(output, "seed 1", new RecordedCase(comparison, 3, Recorded(), Recorded(shiftNs: 40_000_000), null) { Edge = new LaggedEdge(0.9, EdgeLagKind.SameInstantInbound) }, verbose: false));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("EDGE ", lines[0], StringComparison.Ordinal);
        Assert.Equal("         note: the engine gives the kernel's recording with each inbound segment sharing an instant with the one before it written 0.9 ms later (the runner writes them one after the other)", lines[^1]);
    }

    [Fact]
    public void Compare_AMissingCallResult_IsADifference()
    {
        var kernel = Recorded().Where(e => e.Kind != RecordedKind.Call).ToList();

        var comparison = RecordingComparison.Compare(Recorded(), kernel, 4_000_000);

        Assert.Equal(RecordingVerdict.Different, comparison.Verdict);
        Assert.Null(comparison.First!.Kernel);
    }

    [Fact]
    public void Shrink_KeepsHandshakeAndLastLine_DropsWhatTheDifferenceDoesNotNeed_GapsKept()
    {
        var text = PacketCaseGenerator.Generate(3);
        var lines = text.TrimEnd('\n').Split('\n');
        // A planted "difference": it holds while the script still closes the socket and still ends as it did.
        string keep = lines.First(l => l.Contains("close(", StringComparison.Ordinal));

        var shrunk = PacketFuzz.Shrink(text, t => t.Contains(keep.Trim()[(keep.Trim().IndexOf(' ') + 1)..], StringComparison.Ordinal));

        var kept = shrunk.TrimEnd('\n').Split('\n');
        Assert.True(kept.Length < lines.Length);
        Assert.Equal(lines[^1].Trim()[(lines[^1].Trim().IndexOf(' ') + 1)..], kept[^1].Trim()[(kept[^1].Trim().IndexOf(' ') + 1)..]);
        Assert.Contains(kept, l => l.Contains("close(", StringComparison.Ordinal));
        Assert.Contains(kept, l => l.Contains("connect(", StringComparison.Ordinal) || l.Contains("accept(", StringComparison.Ordinal));
        Assert.True(PacketFuzz.OnEngine(shrunk, "min.pkt").Recording is not null);
        // The walk's total time is kept: the dropped lines' gaps moved onto the lines after them.
        Assert.Equal(ScriptSeconds(text), ScriptSeconds(shrunk), 6);
    }

    static double ScriptSeconds(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('+'))
        .Sum(l => double.Parse(l[1..l.IndexOf(' ')], System.Globalization.CultureInfo.InvariantCulture));

    [KernelFact]
    public async Task Kernel_FuzzPkt_GeneratedCasesRecordedOnBothAndCompared()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        var keep = Path.Combine(Path.GetTempPath(), $"pfuzz-test-{Environment.ProcessId}");

        var run = await Tool.RunAsync("kernel", "--fuzz-pkt", "2", "--seed", "101", "--keep", keep);

        Assert.Contains("fuzz-pkt: 2 cases (seeds 101..102): ", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(keep, "fuzz-101.pkt")), run.Output + run.Error);
        Assert.Equal(PacketCaseGenerator.Generate(102), await File.ReadAllTextAsync(Path.Combine(keep, "fuzz-102.pkt")));
        Assert.DoesNotContain("NOT-RUN", run.Output, StringComparison.Ordinal);
        Directory.Delete(keep, recursive: true);
    }

    [KernelFact]
    public async Task Kernel_Record_SynTakenByTimeWait_SecondConnectionNumberedAndToldApartAsOnTheEngine()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");

        var run = await Tool.RunAsync("kernel", "--record", "--verbose", Path.Combine(Tool.Fixtures, "record", "time-wait-syn-then-ack-at-once.pkt"));

        // The ACK written 0 ms after the SYN is numbered from the new ISN (out of window: an ACK back, not an RST), and
        // the last %{ }% is the script's socket, which the SYN replaced, not the new connection of its 4-tuple.
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Contains("record: 1 scripts, 1 agree with the engine, 0 differ", run.Output, StringComparison.Ordinal);
        Assert.Matches(@"kernel \| 0\.11\d+ > \. 1:1\(0\) ack 101 win 64240", run.Output);
        Assert.Matches(@"kernel \| 0\.12\d+ > \. 1:1\(0\) ack 111 win 64230", run.Output);
        Assert.DoesNotContain("> R", run.Output, StringComparison.Ordinal);
        Assert.Contains("kernel | 0.220000 line 22: tcpi_state = none", run.Output, StringComparison.Ordinal);
    }

    const string Handshake = """
           0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
          +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
          +0 bind(3, ..., ...) = 0
          +0 listen(3, 1) = 0
          +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 700 ecr 0,nop,wscale 7>
        +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 710 ecr 0>
          +0 accept(3, ..., ...) = 4

        """;

    /// <summary>A recording of a handshake and a close: a SYN-ACK, a FIN (or <paramref name="change"/> in its place), a call and a state, shifted by <paramref name="shiftNs"/>.</summary>
    static List<RecordedEvent> Recorded(long shiftNs = 0, string? change = null) =>
    [
        new(RecordedKind.Packet, 0 + shiftNs, 0, "S. 0:0(0) ack 1 win 64240 <mss 1460,sackOK,TS val * ecr 700,nop,wscale 10>", 0),
        new(RecordedKind.Call, 10_000_000, 9, "close(4) = 0"),
        new(RecordedKind.Packet, 10_000_000 + shiftNs, 0, change ?? "F. 1:1(0) ack 1 win 502"),
        new(RecordedKind.Info, 20_000_000, 10, "tcpi_state = 4"),
    ];
}
