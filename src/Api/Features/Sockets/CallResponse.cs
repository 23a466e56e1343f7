using SimService.Api.Infrastructure;
using SimService.Domain.Commands;
using SimService.Persistence.Serialization;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Sockets;

/// <summary>
/// What a system call did when it was issued. A call that blocks (connect, accept, recv, a full send, close
/// under SO_LINGER) is "pending": its completion is a call-returned event in the journal at its virtual time,
/// and shows on <c>GET /calls/{callId}</c> and on the socket. A call that fails inside the simulation carries
/// its errno here; that is a result, not an HTTP error.
/// </summary>
/// <param name="Call">socket, bind, listen, connect, accept, send, recv, shutdown, close, setsockopt, getsockopt, getpeername, fcntl, poll, dup, dup2, setrlimit.</param>
/// <param name="SocketId">The socket the call created or acted on (an accept that returned: the new connection's socket); 0 when a call on a host made none (socket(), listen or connect failing EMFILE: a 200 with no Location).</param>
/// <param name="Status">"returned" or "pending".</param>
/// <param name="Result">The return value when it returned without error (socket() and accept() return a descriptor number, lowest free from 3).</param>
/// <param name="Errno">The errno name when it failed (ECONNREFUSED, EADDRNOTAVAIL, EPIPE ...).</param>
/// <param name="IssuedAtNs">Virtual time the call was made.</param>
/// <param name="Value">
/// What the call wrote besides its return value: getsockopt's value (an integer; {"onoff","linger"} for SO_LINGER; {"sec","usec"} for SO_SNDTIMEO/SO_RCVTIMEO; {"lo","hi"} for IP_LOCAL_PORT_RANGE;
/// the errno name for SO_ERROR; tcp_info's state, ca_state, retransmits, probes, backoff, rto (µs), snd_mss, unacked, sacked, lost, retrans,
/// snd_ssthresh, snd_cwnd, ato (µs), rcv_mss, last_data_sent, last_ack_sent, last_data_recv, last_ack_recv (ms), pmtu, rcv_ssthresh, rtt,
/// rttvar (µs), advmss, reordering, rcv_rtt (µs), rcv_space, total_retrans, pacing_rate (bytes/s), bytes_acked, bytes_received, segs_out,
/// segs_in, and on linux-6 notsent_bytes, min_rtt (µs), data_segs_in, data_segs_out, delivered, bytes_sent, bytes_retrans, dsack_dups, reord_seen, rcv_ooopack, snd_wnd,
/// rcv_wnd, rehash;
/// delivery_rate, delivery_rate_app_limited, busy_time, rwnd_limited, sndbuf_limited (µs), delivered_ce, total_rto, total_rto_recoveries, total_rto_time (ms; not on linux-4.4) for
/// TCP_INFO; sk_get_meminfo()'s rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops for SO_MEMINFO)
/// and getpeername's "address:port". Absent for other calls.
/// </param>
public sealed record CallResponse(long CallId, string Call, string Host, string Process, int SocketId, string Status, long? Result,
    string? Errno, long IssuedAtNs, long Version, System.Text.Json.JsonElement? Value = null) : LeftModelAnswer, IVersioned
{
    public const string Returned = "returned";
    public const string Pending = "pending";

    public static CallResponse From(CallHandle handle, SocketCallRequest request, long issuedAtNs, long version) => new(
        handle.CallId, CallName(request.Call), request.Host, request.Process, handle.SocketId,
        handle.Blocked ? Pending : Returned,
        handle.Blocked || handle.Errno is not null ? null : handle.Result,
        handle.Blocked ? null : handle.Errno,
        issuedAtNs, version, ValueOf(handle.Value));

    /// <summary>A call's value (compact JSON text from the engine) as JSON in the response.</summary>
    public static System.Text.Json.JsonElement? ValueOf(string? value) =>
        value is null ? null : System.Text.Json.JsonDocument.Parse(value).RootElement.Clone();

    /// <summary>The call as it stands in the call table (pending, or returned with its value or errno).</summary>
    public static CallResponse From(CallStatus status, long version) => new(
        status.CallId, status.Call, status.Host, status.Process, status.SocketId, status.Status, status.Result, status.Errno,
        status.IssuedAtNs, version, status.Value);

    /// <summary>The call's name as the journal and the scenario format write it ("setsockopt").</summary>
    public static string CallName(Domain.Tcp.SocketCallKind kind) => kind.ToString().ToLowerInvariant();
}
