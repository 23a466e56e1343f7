namespace SimService.Domain.Tcp;

/// <summary>
/// The emptied queue lists of destroyed sockets, handed to the next sockets of the same simulation — as the kernel's
/// slab caches give a freed object's memory to the next allocation of its kind — so a churn of short connections
/// allocates no queue storage once it runs. A list comes back only empty (inet_csk_destroy_sock() has purged it) and
/// small (a bulk transfer's grown array is left to the collector); at most <see cref="Kept"/> of each kind are kept.
/// </summary>
internal sealed class FreeQueues
{
    /// <summary>Lists kept of each kind at most: a burst of closes (a pool of 100,000 closed at once) does not stay behind.</summary>
    const int Kept = 1024;
    /// <summary>A list whose array grew past this is not kept.</summary>
    const int MaxCapacity = 8;

    readonly Stack<List<TcpSocket.InFlight>> _rtx = new();

    /// <summary>The retransmission queue of every socket whose queue is empty: never written (a socket queues into a list of its own).</summary>
    public List<TcpSocket.InFlight> NoRtx { get; } = [];
    readonly Stack<List<TcpSocket.SndSkb>> _snd = new();
    readonly Stack<List<TcpSocket.RcvSkb>> _rcv = new();

    public List<TcpSocket.InFlight> RtxQueue(int capacity) => Take(_rtx, capacity);
    public List<TcpSocket.SndSkb> WriteQueue(int capacity) => Take(_snd, capacity);
    public List<TcpSocket.RcvSkb> ReceiveQueue(int capacity) => Take(_rcv, capacity);

    public void Give(List<TcpSocket.InFlight> list)
    {
        if (list != NoRtx) Keep(_rtx, list);
    }
    public void Give(List<TcpSocket.SndSkb>? list) => Keep(_snd, list);
    public void Give(List<TcpSocket.RcvSkb>? list) => Keep(_rcv, list);

    static List<T> Take<T>(Stack<List<T>> free, int capacity) => free.TryPop(out var list) ? list : new List<T>(capacity);

    static void Keep<T>(Stack<List<T>> free, List<T>? list)
    {
        if (list is null || list.Count != 0 || list.Capacity > MaxCapacity || free.Count >= Kept) return;
        free.Push(list);
    }
}
