using System.Xml.Linq;
using SimService.Domain.Journal;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Outputs;

public class LadderDiagramTests
{
    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    static List<XElement> Groups(XDocument doc, string cls) =>
        [.. doc.Descendants(Svg + "g").Where(g => ((string?)g.Attribute("class"))?.Split(' ').Contains(cls) == true)];

    [Theory]
    [MemberData(nameof(Stories))]
    public void Story_RenderedAsSvg_OneArrowPerSegmentAStateBoxPerChangeAndABracketPerTimer(string story)
    {
        var h = CaptureStories.Run(story);
        var journal = h.Sim.Journal;

        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, DiagramFilter.All));

        Assert.Equal(["client", "server"], Groups(doc, "lane").Select(g => (string?)g.Attribute("data-host")));
        var segments = Groups(doc, "segment");
        Assert.Equal(journal.OfType<SegmentSent>().Select(s => s.SegmentId), segments.Select(g => (long)g.Attribute("data-segment-id")!));
        Assert.Equal(journal.OfType<SegmentDropped>().Count(), Groups(doc, "dropped").Count);
        Assert.All(Groups(doc, "dropped"), g => Assert.Single(g.Elements(Svg + "path"))); // the cross
        var states = Groups(doc, "state");
        Assert.Equal(journal.OfType<StateChanged>().Select(c => c.Cause), states.Select(g => g.Elements(Svg + "text").Last().Value));
        Assert.Equal(journal.OfType<TimerArmed>().Count(), Groups(doc, "timer").Count);
        Assert.Equal(journal.OfType<TimerFired>().Count(), Groups(doc, "timer").Count(g => (string?)g.Attribute("data-outcome") == "fired"));
    }

    public static TheoryData<string> Stories() => [.. CaptureStories.Names];

    /// <summary>The title names the profile as the API and scenarios spell it ("linux-6"), not the enum ("Linux6").</summary>
    [Fact]
    public void OrderlyClose_Title_NamesTheProfileByItsWireName()
    {
        var h = CaptureStories.Run("orderly-close");
        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, DiagramFilter.All));
        Assert.StartsWith("Ladder diagram — linux-6, seed 1, virtual time ", doc.Descendants(Svg + "text").First().Value, StringComparison.Ordinal);
    }

    /// <summary>
    /// Retransmit, LossProbe, Persist and ReorderTimeout are one timer (icsk_retransmit_timer, multiplexed by
    /// icsk_pending): tcp_schedule_loss_probe() re-arms the RTO the FIN's send armed, and the FIN's ACK cancels the
    /// loss probe. So the RTO's bracket ends "re-armed" there; it must not hang on to the bottom as "pending" after
    /// both sockets are gone.
    /// </summary>
    [Fact]
    public void OrderlyClose_XmitTimerReArmedAsLossProbe_EndsTheRetransmitBracket()
    {
        var h = CaptureStories.Run("orderly-close");
        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, DiagramFilter.All));
        var xmit = Groups(doc, "timer").Where(g => (string?)g.Attribute("data-timer") is "Retransmit" or "LossProbe" or "Persist" or "ReorderTimeout").ToList();
        Assert.NotEmpty(xmit);
        Assert.DoesNotContain(xmit, g => (string?)g.Attribute("data-outcome") == "pending");
        Assert.Contains(xmit, g => (string?)g.Attribute("data-timer") == "Retransmit" && (string?)g.Attribute("data-outcome") == "re-armed");
    }

    [Fact]
    public void OrderlyClose_FirstSegmentsLabelled_WithFlagsRelativeNumbersAndLength()
    {
        var h = CaptureStories.Run("orderly-close");
        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, DiagramFilter.All));
        var labels = Groups(doc, "segment").Select(g => g.Elements(Svg + "text").Single().Value).ToList();
        Assert.Equal(["S seq=0 len=0", "S. seq=0 ack=1 len=0", ". seq=1 ack=1 len=0"], labels.Take(3));
        Assert.Contains(labels, l => l.StartsWith("F. seq=5001 ", StringComparison.Ordinal));
    }

    [Fact]
    public void FinToBlackhole_FilteredByTimeAndHost_KeepsOnlyThatPart()
    {
        var h = CaptureStories.Run("fin-to-blackhole");
        var window = new TimeWindow(new SimTime(1_000_000_000), null);

        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, new DiagramFilter(["client", "server"], null, window)));
        var onlyClient = XDocument.Parse(LadderDiagram.Svg(h.Sim, new DiagramFilter(["client"])));

        Assert.Equal(h.Sim.Journal.OfType<SegmentSent>().Count(s => s.At.Ns >= 1_000_000_000), Groups(doc, "segment").Count);
        Assert.Equal(["client"], Groups(onlyClient, "lane").Select(g => (string?)g.Attribute("data-host")));
        Assert.Equal("server", (string?)Groups(onlyClient, "elsewhere").Single().Attribute("data-hosts"));
        // Every segment the client sent or was sent still has its arrow, the server's end on the "other hosts" lane.
        Assert.Equal(h.Sim.Journal.OfType<SegmentSent>().Select(s => s.SegmentId),
            Groups(onlyClient, "segment").Select(g => (long)g.Attribute("data-segment-id")!));
        Assert.Empty(Groups(doc, "elsewhere")); // both lanes shown: no extra lane
        Assert.NotEmpty(Groups(onlyClient, "state"));
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value.Contains("later", StringComparison.Ordinal));
    }
}
