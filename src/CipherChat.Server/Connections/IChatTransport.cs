using System.IO.Pipelines;

namespace CipherChat.Server.Connections;

/// <summary>What queueing an outgoing frame did.</summary>
public enum SendResult
{
    /// <summary>The frame is queued and will be written in order.</summary>
    Queued,

    /// <summary>The peer is not reading fast enough: its bounded queue is full. Nothing was queued.</summary>
    Full,

    /// <summary>Output is finished or the transport is gone. Nothing was queued.</summary>
    Closed,
}

/// <summary>
/// One client's byte stream as the connection core sees it: frames come in through a pipe, encoded
/// frames go out through a bounded queue that the transport writes without the caller waiting.
/// </summary>
public interface IChatTransport
{
    /// <summary>The bytes the peer sent. <see cref="PipeReader.CancelPendingRead"/> wakes a pending read.</summary>
    PipeReader Input { get; }

    /// <summary>
    /// Queues one encoded frame (length prefix included). The memory is shared, not copied, until
    /// it is written: the caller must not change it. Safe to call from any thread.
    /// </summary>
    SendResult TrySend(ReadOnlyMemory<byte> encodedFrame);

    /// <summary>
    /// No more frames will be queued: write what is queued, then end the output. Completes when all
    /// of it has left (true) or the transport failed first (false).
    /// </summary>
    Task<bool> CompleteOutputAsync();

    /// <summary>Cuts the connection at once; queued frames are dropped and pending reads fail.</summary>
    void Abort();
}
