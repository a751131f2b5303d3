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
}
