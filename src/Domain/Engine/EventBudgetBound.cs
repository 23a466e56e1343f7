namespace SimService.Domain.Engine;

/// <summary>
/// What an event budget bounds up front: work that needs more events than the budget has can never finish within it, so a
/// request asking for it is refused before it runs (it used to run to its budget or its wall-time limit: a workload with
/// <c>requestBytes</c> near 2^63 ran 300 s, then a 422). The least events of moving data: every segment that carries data
/// is at least one event of the queue (its delivery), and no segment carries more than <see cref="MaxSegmentPayload"/>
/// bytes.
/// </summary>
public static class EventBudgetBound
{
    /// <summary>
    /// The most payload one segment carries: the largest IPv4 packet (IP_MAX_MTU, 65,535 — include/net/ip.h) less the IPv4
    /// and TCP headers; a GSO packet that crosses lo whole is smaller still (sk_gso_max_size, tcp_xmit_size_goal() —
    /// net/ipv4/tcp.c).
    /// </summary>
    public const long MaxSegmentPayload = Network.Host.IpMaxMtu - Network.Host.Ipv4TcpHeaders;

    /// <summary>The least segments (so events) that deliver <paramref name="bytes"/>.</summary>
    public static long SegmentsFor(long bytes) => bytes <= 0 ? 0 : bytes / MaxSegmentPayload + (bytes % MaxSegmentPayload == 0 ? 0 : 1);

    /// <summary>
    /// Why <paramref name="bytes"/> in field <paramref name="field"/> cannot be delivered within <paramref name="events"/>
    /// events (<paramref name="within"/> says whose: "the event budget of 10,000 events"), naming the most bytes that can;
    /// null when they can.
    /// </summary>
    public static DomainError? Bytes(long bytes, long events, string field, string within)
    {
        if (SegmentsFor(bytes) <= events) return null;
        long most = Math.Max(0, events) * MaxSegmentPayload;
        return DomainError.Invalid($"{bytes:N0} bytes cannot be delivered within {within}: at most {most:N0} bytes "
            + $"(each segment is at least one event and carries at most {MaxSegmentPayload:N0} bytes)", field);
    }
}
