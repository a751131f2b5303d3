namespace CipherChat.Server.Storage;

/// <summary>
/// Read access to rooms' logs without a member's view, for delivery between server nodes: a node
/// reads the messages another node stored and pushes them to its own connections. Implemented by the
/// stores several nodes can share (PostgreSQL).
/// </summary>
public interface IRoomLog
{
    /// <summary>Up to <paramref name="limit"/> messages of <paramref name="room"/> with seq greater than <paramref name="afterSeq"/>, oldest first.</summary>
    ValueTask<IReadOnlyList<StoredMessage>> ReadLogAsync(string room, ulong afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The last seq of each of <paramref name="rooms"/> that exists.</summary>
    ValueTask<IReadOnlyDictionary<string, ulong>> GetLastSeqsAsync(IReadOnlyCollection<string> rooms, CancellationToken cancellationToken);
}
