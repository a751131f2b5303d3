namespace CipherChat.Server.Delivery;

/// <summary>
/// Real-time fan-out between server nodes that share one database: after a node stores a message it
/// announces "room R reached seq S", and every other node delivers the new messages to its own
/// connections (<see cref="DeliveryHub.CatchUpAsync"/>). Notifications may be lost; the bus repairs
/// that by catching up from the database (<see cref="DeliveryHub.CatchUpAllAsync"/>) periodically and
/// after it reconnects, so delivery never depends on the bus alone. A single node runs without one.
/// </summary>
public interface IClusterBus : IAsyncDisposable
{
    /// <summary>Starts receiving other nodes' notifications and handing them to <paramref name="hub"/>.</summary>
    Task StartAsync(DeliveryHub hub, CancellationToken cancellationToken);

    /// <summary>
    /// Announces that <paramref name="room"/>'s log reached <paramref name="seq"/>. Returns at once and
    /// never throws: the message is already stored, and a lost notification only delays delivery.
    /// </summary>
    void Publish(string room, ulong seq);

    /// <summary>
    /// Announces that who belongs to <paramref name="room"/> changed: through the commit stored at
    /// <paramref name="commitSeq"/>, or without a commit (0) when a member left. Every other node then
    /// pushes the room up to that commit, moves its connections in or out of the room and pushes the
    /// added users' Welcomes (<see cref="DeliveryHub.MembershipChangedAsync"/>). Returns at once and never
    /// throws; a lost announcement is repaired only when the affected clients log in again.
    /// </summary>
    void PublishMembership(string room, ulong commitSeq);
}
