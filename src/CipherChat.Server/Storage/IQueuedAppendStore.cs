namespace CipherChat.Server.Storage;

/// <summary>
/// A store whose appends can be queued: the order of the queue is the order of sequence numbers, and
/// durability is awaited separately. Lets the delivery core keep a room's events in order without
/// holding the room while the disk syncs, so many appends share one commit.
/// </summary>
public interface IQueuedAppendStore
{
    /// <summary>
    /// Queues an append and returns once its place is fixed: within a room, appends queued one after
    /// another get increasing seqs (or are duplicates or refused). The inner task completes when the
    /// message is durable, with the outcome <see cref="IChatStore.AppendMessageAsync"/> would give.
    /// <paramref name="cancellationToken"/> only stops waiting for room in the queue.
    /// </summary>
    ValueTask<Task<AppendOutcome>> QueueAppendAsync(NewMessage message, CancellationToken cancellationToken);
}
