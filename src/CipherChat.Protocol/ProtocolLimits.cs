namespace CipherChat.Protocol;

/// <summary>Fixed sizes and default limits of protocol version 1.</summary>
public static class ProtocolLimits
{
    /// <summary>The protocol version this library speaks.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>Bytes of the big-endian length prefix before each frame body.</summary>
    public const int LengthPrefixBytes = 4;

    /// <summary>Default largest frame body: 1 MiB.</summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>Smallest frame limit a server may be configured with.</summary>
    public const int MinMaxFrameBytes = 4 * 1024;

    /// <summary>Hard ceiling for a configured frame limit: 64 MiB.</summary>
    public const int MaxMaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>Default largest message payload: 64 KiB.</summary>
    public const int DefaultMaxPayloadBytes = 64 * 1024;

    public const int ChallengeBytes = 32;
    public const int Ed25519PublicKeyBytes = 32;
    public const int Ed25519SignatureBytes = 64;
    public const int ClientMessageIdBytes = 16;
    public const int MinKeyCheckBytes = 16;
    public const int MaxKeyCheckBytes = 64;
    public const int MaxNameLength = 32;
    public const int MaxClientNameLength = 64;
    public const int MaxInviteCodeLength = 64;

    /// <summary>Messages returned by a Fetch whose limit is 0.</summary>
    public const int DefaultFetchLimit = 100;

    /// <summary>Most messages one Fetch returns, whatever its limit.</summary>
    public const int MaxFetchLimit = 500;
}
