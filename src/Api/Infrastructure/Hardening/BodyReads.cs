using System.IO.Pipelines;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// Reads of the request body that a cancelled token (the request's wall-time limit, <c>RequestAborted</c> inside
/// UseRequestTimeouts) ends in a state Kestrel can recover from. A body read given the token itself throws from
/// Pipe.GetReadAsyncResult() after the pipe has begun the read, and no caller can then AdvanceTo: the body reader is left
/// "reading", so Kestrel's drain of the unread body failed after the timeout's 503 ("automatic draining of the request
/// body failed because the body reader is in an invalid state … Reading is already in progress", or "Connection processing
/// ended abnormally") and the connection was dropped. Here the token calls <see cref="PipeReader.CancelPendingRead"/>
/// instead: the read returns a cancelled result, which is handed back unconsumed before the cancellation is thrown.
/// </summary>
public static class BodyReads
{
    /// <summary>
    /// <see cref="PipeReader.ReadAtLeastAsync"/> of the request body: at least <paramref name="minimumSize"/> bytes, or
    /// the whole body when it is shorter; an <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/>
    /// is cancelled first, with the reader ready to be read (or drained) again.
    /// </summary>
    public static async ValueTask<ReadResult> ReadAtLeastAsync(PipeReader reader, int minimumSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ReadResult read;
        // The wait for the client's bytes is the client's time, not the service's (a limit running out in it is a 408).
        RequestWork.Enter(WorkPhase.ReceivingBody);
        using (cancellationToken.UnsafeRegister(static r => ((PipeReader)r!).CancelPendingRead(), reader))
            read = await reader.ReadAtLeastAsync(minimumSize, CancellationToken.None);
        RequestWork.Enter(WorkPhase.Running);
        if (read.IsCanceled)
        {
            reader.AdvanceTo(read.Buffer.Start); // nothing consumed: the reader is no longer "reading"
            cancellationToken.ThrowIfCancellationRequested();
        }
        return read;
    }

    /// <summary>The whole body into <paramref name="copy"/>, read as <see cref="ReadAtLeastAsync"/> reads.</summary>
    public static async Task CopyToAsync(PipeReader reader, Stream copy, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await ReadAtLeastAsync(reader, 1, cancellationToken);
            foreach (var segment in read.Buffer) copy.Write(segment.Span);
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) return;
        }
    }
}
