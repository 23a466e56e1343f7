namespace SimService.Domain.Tcp;

// Small searches of a socket's queues, written as loops: a lambda capturing a local of the
// per-segment path would allocate its closure on every call of the method that declares it.
public sealed partial class TcpSocket
{
    /// <summary>Whether tp->out_of_order_queue already holds a segment starting at <paramref name="seq"/>.</summary>
    bool OfoHolds(uint seq)
    {
        foreach (var o in _ofo)
            if (o.Seq == seq) return true;
        return false;
    }
}
