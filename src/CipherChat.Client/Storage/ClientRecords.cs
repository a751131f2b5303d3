using CipherChat.Client.Net;

namespace CipherChat.Client.Storage;

/// <summary>The account this client registered: where, as whom, and whether the server speaks TLS.</summary>
public sealed record AccountInfo(ServerAddress Server, bool Tls, string Username, DateTimeOffset RegisteredAt);

/// <summary>
/// The device signing key as stored. <see cref="Protection"/> is "none", or the passphrase-encrypted
/// form of <see cref="DeviceKeyProtection"/>.
/// </summary>
public sealed record StoredDeviceKey(string Algorithm, byte[] PublicKey, byte[] PrivateKey, string Protection, byte[]? ProtectionParameters, DateTimeOffset CreatedAt);

/// <summary>A room this client has joined. <see cref="PskKey"/> is the Fernet key of a pre-shared-key room.</summary>
public sealed record RoomRecord(string Name, string Kind, string? PskKey, DateTimeOffset JoinedAt, long LastAckedSeq);

/// <summary>
/// A message as received and kept: <see cref="Sender"/> is the name the server authenticated;
/// exactly one of <see cref="Text"/> and <see cref="Error"/> is set.
/// </summary>
public sealed record StoredMessage(
    string Room,
    long Seq,
    string MessageId,
    string Sender,
    DateTimeOffset ServerTime,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? SentAt,
    string? Text,
    string? Error,
    bool Printed);
