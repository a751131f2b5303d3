using CipherChat.Client;
using CipherChat.Client.Fernet;
using CipherChat.Client.Net;
using CipherChat.Client.Storage;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.Tests.Backend;

/// <summary>The adapter over the client library against a real server on a loopback port (no terminal needed).</summary>
public sealed class ClientChatBackendTests() : LoopbackServerTests("cipherchat-tui-backend-")
{
    private readonly Queue<string> _invites = new();

    private protected override string Registration => "invite";

    private protected override async Task OnStartedAsync(InMemoryChatStore store)
    {
        _invites.Enqueue(await AddInviteAsync(store));
        _invites.Enqueue(await AddInviteAsync(store));
    }

    private static async Task<string> AddInviteAsync(InMemoryChatStore store)
    {
        var code = InviteCodes.Create();
        await store.AddInviteAsync(InviteCodes.Hash(code), DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);
        return code;
    }

    private async Task<ChatClient> ClientAsync(string user, string room, string key)
    {
        var client = Own(new ChatClient(OpenStore(user)));
        var ct = TestContext.Current.CancellationToken;
        await client.RegisterAsync(Address, tls: false, user, _invites.Dequeue(), ct);
        await client.JoinPskRoomAsync(room, key, ct);
        return client;
    }

    private static async Task<T> WithinAsync<T>(TaskCompletionSource<T> source, string what)
    {
        var done = await Task.WhenAny(source.Task, Task.Delay(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
        Assert.True(done == source.Task, $"timed out waiting for {what}");
        return await source.Task;
    }

    [Fact]
    public async Task Live_messages_own_sends_and_connection_loss_reach_the_ui()
    {
        using var fernet = FernetKey.Generate();
        var key = fernet.Export();
        var alice = await ClientAsync("alice", "general", key);
        var bob = await ClientAsync("bob", "general", key);
        await bob.SendAsync("general", "before alice opened the chat", TestContext.Current.CancellationToken);

        var backend = Own(new ClientChatBackend(alice, TimeProvider.System));
        Assert.Equal("alice", backend.Username);
        Assert.Equal([new RoomInfo("general", "shared key")], backend.GetRooms());

        var connected = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnecting = new TaskCompletionSource<ConnectionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fromBob = new TaskCompletionSource<ChatMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var early = new TaskCompletionSource<ChatMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new List<ChatMessage>();
        backend.ConnectionChanged += (_, s) =>
        {
            if (s.State == ConnectionState.Connected)
            {
                connected.TrySetResult(true);
            }
            else if (s.State == ConnectionState.Reconnecting)
            {
                reconnecting.TrySetResult(s);
            }
        };
        backend.MessageReceived += (_, m) =>
        {
            lock (received)
            {
                received.Add(m);
            }

            if (m.Text == "hello alice")
            {
                fromBob.TrySetResult(m);
            }
            else if (m.Text == "before alice opened the chat")
            {
                early.TrySetResult(m);
            }
        };

        await backend.StartAsync(TestContext.Current.CancellationToken);
        await WithinAsync(connected, "the connection");
        Assert.Equal("bob", (await WithinAsync(early, "the message sent while alice was away")).Sender);

        await bob.SendAsync("general", "hello alice", TestContext.Current.CancellationToken);
        var live = await WithinAsync(fromBob, "bob's live message");
        Assert.Equal("general", live.Room);
        Assert.Equal("bob", live.Sender);
        Assert.Null(live.Error);

        await backend.SendAsync("general", "hi bob 👋", TestContext.Current.CancellationToken);
        lock (received)
        {
            Assert.Contains(received, m => m.Sender == "alice" && m.Text == "hi bob 👋");
            Assert.Equal(received.Count, received.DistinctBy(m => m.Id).Count());
        }

        var history = await backend.GetHistoryAsync("general", TestContext.Current.CancellationToken);
        Assert.Equal(["before alice opened the chat", "hello alice", "hi bob 👋"], history.Select(m => m.Text));

        await Server.StopAsync(TestContext.Current.CancellationToken);
        var status = await WithinAsync(reconnecting, "the reconnecting state");
        Assert.NotNull(status.RetryAt);
        Assert.NotNull(status.Detail);
    }
}
