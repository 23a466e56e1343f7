namespace SimService.Cli.Kernel;

/// <summary>
/// The buffers a kernel run's send/write and recv/read calls pass, kept across calls: a call that made its own (a
/// scenario's recv without <c>bytes</c> asks for 4 MB) zeroed it on the call thread after the call's time — 0.5–2 ms
/// before the call reached the kernel — and its large-object allocations brought on garbage collections, which stop
/// every thread of the run. What is sent is zeros; what is received is thrown away (two calls may receive into the
/// same buffer at once).
/// </summary>
internal static class CallBuffers
{
    static readonly Lock s_lock = new();
    static byte[] s_zeros = new byte[1 << 16];
    static byte[] s_received = new byte[1 << 22];

    /// <summary>At least <paramref name="length"/> zero bytes, never written: for send and write.</summary>
    public static byte[] Zeros(long length) => AtLeast(ref s_zeros, length);

    /// <summary>At least <paramref name="length"/> bytes (one at least) to receive into: for recv and read.</summary>
    public static byte[] Receive(long length) => AtLeast(ref s_received, Math.Max(1, length));

    static byte[] AtLeast(ref byte[] buffer, long length)
    {
        lock (s_lock)
        {
            if (buffer.Length < length) buffer = new byte[length];
            return buffer;
        }
    }
}
