namespace CipherChat.Client.Rooms;

/// <summary>Room kinds as stored in the client state.</summary>
public static class RoomKinds
{
    /// <summary>Pre-shared-key room: Fernet tokens made with a key shared out of band.</summary>
    public const string Psk = "psk";

    /// <summary>RFC 9420 group (MLS room or direct conversation).</summary>
    public const string Mls = "mls";
}
