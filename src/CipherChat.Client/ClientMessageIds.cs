namespace CipherChat.Client;

/// <summary>The ids a client gives the messages and commits it sends (the server's duplicate check).</summary>
internal static class ClientMessageIds
{
    /// <summary>
    /// A new id: a version 7 UUID in its big-endian byte order, i.e. the millisecond time first and
    /// 74 random bits after it. Ids that grow with time let the server's index append them instead of
    /// writing a random page per message; the time in them says no more than the moment the server
    /// receives the message anyway.
    /// </summary>
    public static byte[] New() => Guid.CreateVersion7().ToByteArray(bigEndian: true);
}
