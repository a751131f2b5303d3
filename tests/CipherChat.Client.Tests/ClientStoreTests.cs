using CipherChat.Client.Net;
using CipherChat.Client.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Client.Tests;

public sealed class ClientStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 14, 3, 0, TimeSpan.Zero);

    private static StoredMessage Message(long seq, string id, string? text = "hi", string? error = null) =>
        new("general", seq, id, "alice", Now, Now.AddSeconds(1), Now.AddHours(-1).ToOffset(TimeSpan.FromHours(2)), text, error, false);

    [Fact]
    public void Everything_survives_closing_and_reopening()
    {
        using var home = new TempHome();
        using (var store = ClientStore.Open(home.Path))
        {
            store.SaveAccount(new AccountInfo(new ServerAddress("chat.example", 4000), false, "alice", Now));
            Assert.True(store.TryAddDeviceKey(new StoredDeviceKey("ed25519", [1, 2], [3, 4], "none", null, Now)));
            store.AddPinIfAbsent("chat.example:4000", "AA:BB", Now);
            store.UpsertRoom(new RoomRecord("general", "psk", "KEY", Now, 0));
            store.AdvanceAckedSeq("general", 7);
            Assert.True(store.TryAddMessage(Message(7, "id7")));
            Assert.True(store.TryAddMessage(Message(8, "id8", text: null, error: "cannot decrypt (wrong key or tampered)")));
        }

        using (var store = ClientStore.Open(home.Path))
        {
            var account = store.GetAccount()!;
            Assert.Equal(new ServerAddress("chat.example", 4000), account.Server);
            Assert.False(account.Tls);
            Assert.Equal("alice", account.Username);
            var key = store.GetDeviceKey()!;
            Assert.Equal(new byte[] { 3, 4 }, key.PrivateKey);
            Assert.Equal("none", key.Protection);
            Assert.Equal("AA:BB", store.GetPin("chat.example:4000"));
            var room = Assert.Single(store.GetRooms());
            Assert.Equal(("general", "psk", "KEY", 7L), (room.Name, room.Kind, room.PskKey, room.LastAckedSeq));
            var messages = store.GetMessages("general", unprintedOnly: false);
            Assert.Equal(2, messages.Count);
            Assert.Equal(Message(7, "id7"), messages[0]);
            Assert.Null(messages[1].Text);
            Assert.Equal("cannot decrypt (wrong key or tampered)", messages[1].Error);
            Assert.Equal(TimeSpan.FromHours(2), messages[0].SentAt!.Value.Offset);
        }
    }

    [Fact]
    public void Messages_are_deduplicated_by_sequence_and_by_id()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        Assert.True(store.TryAddMessage(Message(1, "a")));
        Assert.False(store.TryAddMessage(Message(1, "b")));
        Assert.False(store.TryAddMessage(Message(2, "a")));
        Assert.True(store.TryAddMessage(Message(2, "b")));
        Assert.Equal(new[] { 1L, 2L }, store.GetMessages("general", false).Select(m => m.Seq));
    }

    [Fact]
    public void Printed_messages_are_not_returned_as_new_again()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        store.TryAddMessage(Message(2, "b"));
        store.TryAddMessage(Message(1, "a"));
        Assert.Equal(new[] { 1L, 2L }, store.GetMessages("general", true).Select(m => m.Seq));
        store.MarkPrinted("general", 1);
        Assert.Equal(new[] { 2L }, store.GetMessages("general", true).Select(m => m.Seq));
        Assert.Equal(2, store.GetMessages("general", false).Count);
    }

    [Fact]
    public void The_acknowledged_sequence_only_moves_forward_and_survives_a_key_change()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        store.UpsertRoom(new RoomRecord("general", "psk", "K1", Now, 0));
        store.AdvanceAckedSeq("general", 10);
        store.AdvanceAckedSeq("general", 4);
        store.UpsertRoom(new RoomRecord("general", "psk", "K2", Now, 0));
        var room = store.GetRoom("general")!;
        Assert.Equal(10, room.LastAckedSeq);
        Assert.Equal("K2", room.PskKey);
        Assert.True(store.RemoveRoom("general"));
        Assert.Null(store.GetRoom("general"));
    }

    [Fact]
    public void The_device_key_is_never_replaced_silently()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        Assert.True(store.TryAddDeviceKey(new StoredDeviceKey("ed25519", [1], [1], "none", null, Now)));
        Assert.False(store.TryAddDeviceKey(new StoredDeviceKey("ed25519", [2], [2], "none", null, Now)));
        Assert.Equal(new byte[] { 1 }, store.GetDeviceKey()!.PrivateKey);
    }

    [Fact]
    public void A_state_file_from_a_newer_version_is_refused_clearly()
    {
        using var home = new TempHome();
        using (ClientStore.Open(home.Path))
        {
        }

        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(home.Path, ClientStore.FileName), Pooling = false }.ToString()))
        {
            raw.Open();
            using var cmd = raw.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version';";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        var ex = Assert.Throws<ClientStateException>(() => ClientStore.Open(home.Path));
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_home_folder_and_file_are_private_to_the_user()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
            return;
        }

        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(home.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
    }
}
