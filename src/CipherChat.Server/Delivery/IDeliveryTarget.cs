namespace CipherChat.Server.Delivery;

/// <summary>Something that receives pushed frames: one logged-in connection.</summary>
public interface IDeliveryTarget
{
    /// <summary>The user logged in on this connection.</summary>
    string User { get; }

    /// <summary>
    /// Queues an encoded frame (length prefix included) without waiting. Returns false when the
    /// target's queue is full; the target then disconnects itself.
    /// </summary>
    bool TryDeliver(ReadOnlyMemory<byte> encodedFrame);
}
