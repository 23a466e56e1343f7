using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// What stays of a destroyed full socket (inet_csk_destroy_sock freed everything else): its id,
/// host, endpoints, the last state it was in before CLOSE, its data ledger and when it died. The
/// engine keeps one per dead connection while the journal level is above counters (so a request
/// for a dead socket still answers), none at counters — memory is then bounded by what is alive.
/// About 150 bytes with its ledger (<see cref="ApproximateBytes"/>).
/// </summary>
public sealed class SocketRecord(int id, Host host, Endpoint local, Endpoint remote, TcpState lastState, DataLedger ledger, SimTime diedAt)
{
    /// <summary>Object header and fields of the record (64 B) plus its ledger (72 B), rounded up: what one dead socket costs.</summary>
    public const int ApproximateBytes = 160;

    public int Id { get; } = id;
    public Host Host { get; } = host;
    public Endpoint Local { get; } = local;
    public Endpoint Remote { get; } = remote;
    /// <summary>The state it left for CLOSE: FIN-WAIT-2 or CLOSING when a timewait socket took over (tcp_time_wait), LAST-ACK, SYN-SENT after a refusal …</summary>
    public TcpState LastState { get; } = lastState;
    public DataLedger Ledger { get; } = ledger;
    public SimTime DiedAt { get; } = diedAt;
}
