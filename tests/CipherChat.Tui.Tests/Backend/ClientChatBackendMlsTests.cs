using CipherChat.Client;
using CipherChat.Client.Net;
using CipherChat.Client.Storage;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.Tests.Backend;

/// <summary>The MLS commands of the terminal UI through the adapter, against a real server on a loopback port.</summary>
public sealed class ClientChatBackendMlsTests() : LoopbackServerTests("cipherchat-tui-mls-")
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A registered user who has logged in once since, so the server holds their key packages.</summary>
    private async Task<ChatClient> UserAsync(string user)
    {
        var store = OpenStore(user);
        await using (var first = new ChatClient(store))
        {
            await first.RegisterAsync(Address, tls: false, user, null, Ct);
        }

        var client = Own(new ChatClient(store));
        await client.ConnectAsync(Ct);
        return client;
    }

    private ClientChatBackend Backend(ChatClient client)
    {
        return Own(new ClientChatBackend(client, TimeProvider.System));
    }

    private static async Task<ChatMessage> ReceiveAsync(ClientChatBackend backend, Func<ChatMessage, bool> match, Func<Task> action)
    {
        var seen = new TaskCompletionSource<ChatMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var other = new List<string>();
        void OnMessage(object? sender, ChatMessage m)
        {
            lock (other)
            {
                other.Add($"{m.Room}/{m.Sender}: {m.Text ?? m.Error}");
            }

            if (match(m))
            {
                seen.TrySetResult(m);
            }
        }

        backend.MessageReceived += OnMessage;
        try
        {
            await action();
            var done = await Task.WhenAny(seen.Task, Task.Delay(TimeSpan.FromSeconds(60), Ct));
            lock (other)
            {
                Assert.True(done == seen.Task, $"the message did not reach {backend.Username}'s UI within 60 seconds; it saw: {string.Join(" | ", other)}");
            }

            return await seen.Task;
        }
        finally
        {
            backend.MessageReceived -= OnMessage;
        }
    }

    [Fact]
    public async Task Create_invite_and_remove_change_who_reads_the_room()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var ui = Backend(alice);

        var team = await ui.CreateRoomAsync("Team", adminsOnly: false, Ct);
        Assert.Equal(new RoomInfo("team", "MLS"), team);
        Assert.Contains(team, ui.GetRooms());

        await ui.InviteAsync("team", "bob", Ct);
        await bob.SyncAllAsync(Ct);
        await bob.SendAsync("team", "bob is in", Ct);
        var first = await ReceiveAsync(ui, m => m.Text == "bob is in", () => ui.StartAsync(Ct));
        Assert.Equal(("team", "bob"), (first.Room, first.Sender));

        await ui.RemoveAsync("team", "bob", Ct);
        await ui.SendAsync("team", "after bob left", Ct);
        await bob.SyncRoomAsync("team", Ct);
        Assert.DoesNotContain(bob.Store.GetMessages("team", unprintedOnly: false), m => m.Text == "after bob left");
        Assert.Contains((await ui.GetHistoryAsync("team", Ct)).Select(m => m.Text), t => t == "after bob left");
    }

    [Fact]
    public async Task Admins_only_rooms_refuse_invitations_from_members()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await UserAsync("carol");
        var ui = Backend(alice);
        await ui.CreateRoomAsync("board", adminsOnly: true, Ct);
        await ui.InviteAsync("board", "bob", Ct);
        await bob.SyncAllAsync(Ct);

        var bobUi = Backend(bob);
        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => bobUi.InviteAsync("board", "carol", Ct));
        Assert.Equal(CipherChat.Protocol.V1.ErrorCode.NotAllowed, refused.Code);
    }

    [Fact]
    public async Task Direct_conversations_are_shown_as_at_user_on_both_sides_and_can_be_left()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var aliceUi = Backend(alice);
        var bobUi = Backend(bob);
        await aliceUi.StartAsync(Ct);

        var direct = await aliceUi.OpenDirectAsync("bob", Ct);
        Assert.Equal("@bob", direct.Name);
        await aliceUi.SendAsync("@bob", "psst", Ct);

        var got = await ReceiveAsync(bobUi, m => m.Text == "psst", () => bobUi.StartAsync(Ct));
        Assert.Equal(("@alice", "alice"), (got.Room, got.Sender));
        Assert.Contains(bobUi.GetRooms(), r => r.Name == "@alice");
        Assert.Equal("@alice", (await bobUi.OpenDirectAsync("alice", Ct)).Name);

        var reply = await ReceiveAsync(aliceUi, m => m.Text == "hi alice", () => bobUi.SendAsync("@alice", "hi alice", Ct));
        Assert.Equal("@bob", reply.Room);

        await bobUi.LeaveAsync("@alice", Ct);
        Assert.DoesNotContain(bobUi.GetRooms(), r => r.Name == "@alice");
    }

    [Fact]
    public async Task Whois_gives_both_sides_the_same_safety_number()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");

        var fromAlice = await Backend(alice).WhoisAsync("@bob", Ct);
        var fromBob = await Backend(bob).WhoisAsync("alice", Ct);

        Assert.Equal("bob", fromAlice.User);
        Assert.Matches(@"^\d{5}( \d{5}){11}$", fromAlice.SafetyNumber!);
        Assert.Equal(fromAlice.SafetyNumber, fromBob.SafetyNumber);
        Assert.NotEqual(fromAlice.Fingerprint, fromBob.Fingerprint);
        Assert.Null(fromAlice.KeyChangedWarning);
    }
}
