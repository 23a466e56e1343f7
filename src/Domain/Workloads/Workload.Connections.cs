using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Workloads;

public sealed partial class Workload
{
    void CountConnect(string? errno)
    {
        if (errno is null)
        {
            _connectsOk++; // the usual return: a count, not two walks of the sorted table per connection
            return;
        }
        _connectResults[errno] = _connectResults.GetValueOrDefault(errno) + 1;
    }

    /// <summary>connect() calls that returned 0 (the result "0", kept apart from <see cref="_connectResults"/>' errnos).</summary>
    long _connectsOk;

    /// <summary>connect()'s results by errno ("0": success), in ordinal order.</summary>
    SortedDictionary<string, long> ConnectResults()
    {
        var results = new SortedDictionary<string, long>(_connectResults, StringComparer.Ordinal);
        if (_connectsOk > 0) results["0"] = _connectsOk;
        return results;
    }

    enum Phase
    {
        Connecting,
        Sending,
        Receiving,
        AwaitingEof,
        /// <summary>closeFirst both: its part done, waiting for the other side's to close with it (<see cref="Connection.CloseTogether"/>).</summary>
        AwaitingPeer,
        Closing,
    }

    /// <summary>
    /// Both ends of a connection are small state machines over socket calls: a call that returns at
    /// once continues at once, a blocked one continues when the engine schedules its return.
    /// </summary>
    abstract class Connection(Workload w, Host host, string process) : IEventTarget
    {
        protected readonly Workload W = w;
        protected Host Host = host;
        protected string Process = process;
        protected int Socket;
        protected long Received;
        protected Phase Step;
        bool _closing;

        /// <summary>
        /// A new connection's values, for an object taken again from its workload's free list: only a connection whose
        /// close() returned goes there (its calls are sequential, so none of them is pending any more, nor a think timer).
        /// </summary>
        protected void Reset(Host host, string process)
        {
            Host = host;
            Process = process;
            Socket = 0;
            Received = 0;
            Step = default;
            _closing = false;
        }

        void IEventTarget.OnDue(Simulation sim, object? payload)
        {
            if (payload is PendingCall call)
            {
                long value = call.ReturnValue;
                var errno = call.ReturnErrno;
                bool killed = call.Process.Exiting;
                sim.RecycleCall(call); // its return is taken: the next call may reuse it
                if (W.Done) return; // the workload ended (drain limit): its connections stop acting
                // A kill of its process ended the call (EINTR, or a send's or recv's count of bytes copied before it): a
                // killed program makes no further call, and exit closed its descriptors.
                if (killed) Ended();
                else Returned(value, errno);
            }
            else if (W.Done) return;
            // Its process was killed while it thought (rules 3: before, the next call was made by a restarted process).
            else if (W._sim.EngineRules >= EngineRules.AcceptHoldsItsFd && Host.FindProcess(Process) is not { Exiting: false }) Ended();
            else OnTimer();
        }

        protected virtual void OnTimer() { }

        protected abstract void Returned(long value, string? errno);

        protected void Issue(SocketCallKind kind, long bytes = -1)
        {
            var r = W.Call(Host, Process, kind, Socket, this, bytes: bytes);
            if (!r.Blocked) Returned(r.Result, r.Errno);
        }

        /// <summary>Reads until EOF or an error, then a plain close().</summary>
        protected void AwaitEof()
        {
            Step = Phase.AwaitingEof;
            Issue(SocketCallKind.Recv);
        }

        /// <summary>
        /// Handles a recv() return while reading a message of <paramref name="expected"/> bytes: EOF or an error
        /// closes, a short read reads on; true when the whole message is in.
        /// </summary>
        protected bool ReceivedWhole(long value, string? errno, long expected)
        {
            if (errno is not null || value == 0)
            {
                Close(CloseStyle.Close);
                return false;
            }
            Received += value;
            if (Received >= expected) return true;
            Issue(SocketCallKind.Recv);
            return false;
        }

        /// <summary>Handles a return while awaiting EOF: EOF or an error closes, data reads on.</summary>
        protected void OnAwaitingEof(long value, string? errno)
        {
            if (errno is not null || value == 0) Close(CloseStyle.Close);
            else Issue(SocketCallKind.Recv);
        }

        /// <summary>
        /// closeFirst both: the side whose part is done (the server's response sent, the client's read) waits for the other;
        /// the second to get there closes both ends at that instant, as two close() calls at one virtual time: each
        /// tcp_close() sends its FIN before the other's arrives, the FINs cross (tcp_rcv_state_process(): FIN-WAIT-1 →
        /// CLOSING, then TIME-WAIT) and both ends hold TIME-WAIT. Before, the server closed right after its send, so its FIN
        /// followed the response and the client only ever answered it (CLOSE-WAIT → LAST-ACK): TIME-WAIT on the server only.
        /// </summary>
        protected void CloseTogether()
        {
            var key = ClientSideTuple();
            if (W._closingTogether.Remove(key, out var peer) && peer.Waits(key))
            {
                peer.Close(W.Spec.CloseStyle);
                Close(W.Spec.CloseStyle);
                return;
            }
            Step = Phase.AwaitingPeer;
            W._closingTogether[key] = this;
        }

        /// <summary>The connection's 4-tuple as its client sees it (the key both sides of one connection find each other by).</summary>
        FourTuple ClientSideTuple() => W._sim.FindSocket(Socket) is { } sk ? (this is ClientConnection ? sk.Tuple : sk.Tuple.Reversed) : default;

        /// <summary>Whether this side still waits for its peer on the connection <paramref name="key"/> (not closed meanwhile, its socket the same).</summary>
        bool Waits(FourTuple key) => Step == Phase.AwaitingPeer && ClientSideTuple() == key;

        /// <summary>Closes in a style; the connection's side is finished when close() returns (or the process is gone).</summary>
        protected void Close(CloseStyle style)
        {
            // A side that closes otherwise (an error, EOF) with closeFirst both closes the peer waiting for it too, at once.
            if (W.Spec.CloseFirst == CloseFirst.Both && Step != Phase.AwaitingPeer && W._closingTogether.Count > 0
                && W._closingTogether.Remove(ClientSideTuple(), out var waiting) && waiting != this && waiting.Waits(ClientSideTuple()))
                waiting.Close(CloseStyle.Close);
            switch (style)
            {
                case CloseStyle.ShutdownThenClose when !_closing:
                    _closing = true;
                    W.Call(Host, Process, SocketCallKind.Shutdown, Socket, how: ShutdownHow.SHUT_WR);
                    AwaitEof();
                    return;
                case CloseStyle.LingerZero:
                    W.Call(Host, Process, SocketCallKind.Setsockopt, Socket, option: SocketOption.SO_LINGER, value: 0, onOff: 1);
                    break;
                case CloseStyle.Linger:
                    W.Call(Host, Process, SocketCallKind.Setsockopt, Socket, option: SocketOption.SO_LINGER, value: W.Spec.LingerSeconds, onOff: 1);
                    break;
                case CloseStyle.Kill:
                    W._sim.Kill(Host.Name, Process, "SIGKILL");
                    Finished();
                    return;
            }
            Step = Phase.Closing;
            Issue(SocketCallKind.Close);
        }

        protected abstract void Finished();

        /// <summary>Its side is finished and nothing runs on it again: the object goes back to the free list.</summary>
        protected void Ended()
        {
            Finished();
            Free();
        }

        /// <summary>Its close() returned: the object goes to its workload's free list (nothing runs on it after this).</summary>
        protected abstract void Free();
    }

    /// <summary>connect → send the request → read the response → close first, or wait for the server's EOF.</summary>
    sealed class ClientConnection(Workload w, Host host, string process) : Connection(w, host, process)
    {
        public void Begin()
        {
            var spec = W.Spec;
            Step = Phase.Connecting;
            CallHandle r;
            if (W.HasOptions)
            {
                var made = W.Call(Host, Process, SocketCallKind.Socket);
                if (made.Errno is not null) // EMFILE under the process's RLIMIT_NOFILE: no socket, nothing to close
                {
                    W.CountConnect(made.Errno);
                    Ended();
                    return;
                }
                Socket = made.SocketId;
                W.SetOptions(Host, Process, Socket);
                r = W.Call(Host, Process, SocketCallKind.Connect, Socket, this, toHost: W._server.Name, toPort: spec.Port);
            }
            else
            {
                r = W.Call(Host, Process, SocketCallKind.Connect, 0, this, toHost: W._server.Name, toPort: spec.Port);
                Socket = r.SocketId;
            }
            if (!r.Blocked) Returned(r.Result, r.Errno);
        }

        protected override void Returned(long value, string? errno)
        {
            var spec = W.Spec;
            switch (Step)
            {
                case Phase.Connecting:
                    W.CountConnect(errno);
                    if (errno is not null && Socket == 0) Ended(); // connect()'s own socket() failed (EMFILE): nothing to close
                    else if (errno is not null) Close(CloseStyle.Close);
                    else if (spec.RequestBytes > 0)
                    {
                        Step = Phase.Sending;
                        Issue(SocketCallKind.Send, spec.RequestBytes);
                    }
                    else Receive();
                    break;
                case Phase.Sending:
                    if (errno is not null) Close(CloseStyle.Close);
                    else Receive();
                    break;
                case Phase.Receiving:
                    if (ReceivedWhole(value, errno, spec.ResponseBytes)) Respond();
                    break;
                case Phase.AwaitingEof:
                    OnAwaitingEof(value, errno);
                    break;
                case Phase.Closing:
                    Ended();
                    break;
            }
        }

        void Receive()
        {
            Step = Phase.Receiving;
            if (W.Spec.ResponseBytes == 0) Respond();
            else Issue(SocketCallKind.Recv);
        }

        /// <summary>The response is in: the client closes first (client), with the server (both), or waits for the server's FIN.</summary>
        void Respond()
        {
            switch (W.Spec.CloseFirst)
            {
                case CloseFirst.Server: AwaitEof(); break;
                case CloseFirst.Both: CloseTogether(); break;
                default: Close(W.Spec.CloseStyle); break;
            }
        }

        protected override void Finished() => W.ClientFinished();

        protected override void Free()
        {
            if (!W.Done) W._freeClients.Push(this);
        }

        /// <summary>A new client connection on <paramref name="host"/> in <paramref name="process"/> (a free one taken again).</summary>
        public ClientConnection Reuse(Host host, string process)
        {
            Reset(host, process);
            return this;
        }
    }

    /// <summary>read the request → think → send the response → close first (server), with the client (both), or wait for the client's EOF.</summary>
    sealed class ServerConnection : Connection
    {
        public ServerConnection(Workload w, int child) : base(w, w._server, w.ServerProcess) => Socket = child;

        /// <summary>A new server connection for <paramref name="child"/> (a free one taken again).</summary>
        public ServerConnection Reuse(int child)
        {
            Reset(W._server, W.ServerProcess);
            Socket = child;
            return this;
        }

        public void Begin()
        {
            if (W.Spec.RequestBytes == 0) Think();
            else
            {
                Step = Phase.Receiving;
                Issue(SocketCallKind.Recv);
            }
        }

        protected override void Returned(long value, string? errno)
        {
            var spec = W.Spec;
            switch (Step)
            {
                case Phase.Receiving:
                    if (ReceivedWhole(value, errno, spec.RequestBytes)) Think();
                    break;
                case Phase.Sending:
                    if (errno is not null) Close(CloseStyle.Close);
                    else if (spec.CloseFirst == CloseFirst.Client) AwaitEof();
                    else if (spec.CloseFirst == CloseFirst.Both) CloseTogether();
                    else Close(spec.CloseStyle);
                    break;
                case Phase.AwaitingEof:
                    OnAwaitingEof(value, errno);
                    break;
                case Phase.Closing:
                    Ended();
                    break;
            }
        }

        void Think()
        {
            if (W.Spec.ThinkTime.Ns == 0) SendResponse();
            else W._sim.Schedule(W._sim.Now + W.Spec.ThinkTime, this, null);
        }

        protected override void OnTimer() => SendResponse();

        void SendResponse()
        {
            Step = Phase.Sending;
            if (W.Spec.ResponseBytes > 0) Issue(SocketCallKind.Send, W.Spec.ResponseBytes);
            else Returned(0, null);
        }

        protected override void Finished() => W.ServerFinished();

        protected override void Free()
        {
            if (!W.Done) W._freeServers.Push(this);
        }
    }
}
