using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using CipherChat.Cli.Tests.Support;
using CipherChat.Client;
using CipherChat.Client.Net;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Tests;

/// <summary>
/// The real <c>cipherchat server</c> process is killed with SIGKILL in the middle of a burst of sends.
/// After a restart, every message the server acknowledged reaches every member exactly once.
/// </summary>
public sealed class SigkillTests
{
    private const string Room = "burst";
    private const int SendersPerUser = 2;
    private const int MessagesPerSender = 150;
    private const int KillAfterAcknowledged = 60;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_acknowledged_message_is_lost_or_duplicated_when_the_server_is_killed()
    {
        using var data = new TempFolder("sigkill-data");
        var port = ServerProcess.FreePort();
        var address = new ServerAddress("127.0.0.1", port);
        var marker = "sigkill-marker-" + Guid.NewGuid().ToString("N");
        var names = new[] { "alice", "bob", "carol" };
        var homes = names.Select(n => new TempFolder("home-" + n)).ToArray();
        try
        {
            var acknowledged = new ConcurrentDictionary<string, string>();
            using (var server = await ServerProcess.StartAsync(data.Path, port))
            {
                var key = Client.Fernet.FernetKey.Generate().Export();
                var stores = homes.Select(h => ClientStore.Open(h.Path)).ToArray();
                var clients = stores.Select(s => new ChatClient(s)).ToArray();
                try
                {
                    for (var i = 0; i < clients.Length; i++)
                    {
                        await clients[i].RegisterAsync(address, tls: false, names[i], null, Ct);
                        await clients[i].JoinPskRoomAsync(Room, key, Ct);
                    }

                    // Alice and Bob send concurrently; Carol only listens (and is offline during the crash).
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                    stop.CancelAfter(TimeSpan.FromSeconds(60));
                    async Task SendManyAsync(ChatClient client, string name, int lane)
                    {
                        for (var m = 0; m < MessagesPerSender && !stop.IsCancellationRequested; m++)
                        {
                            var text = $"{marker} {name} {lane} {m}";
                            try
                            {
                                var sent = await client.SendAsync(Room, text, stop.Token);
                                Assert.True(acknowledged.TryAdd(sent.MessageId, text));
                            }
                            catch (Exception ex) when (ex is ChatClientException or OperationCanceledException)
                            {
                                // The server is gone (killed): this sender stops; what it sent before is acknowledged.
                                return;
                            }
                        }
                    }

                    var senders = new List<Task>();
                    for (var lane = 0; lane < SendersPerUser; lane++)
                    {
                        senders.Add(SendManyAsync(clients[0], "alice", lane));
                        senders.Add(SendManyAsync(clients[1], "bob", lane));
                    }

                    for (var i = 0; i < 600 && acknowledged.Count < KillAfterAcknowledged; i++)
                    {
                        await Task.Delay(20, Ct);
                    }

                    server.Kill();
                    await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(60), Ct);
                }
                finally
                {
                    foreach (var client in clients)
                    {
                        await client.DisposeAsync();
                    }

                    foreach (var store in stores)
                    {
                        store.Dispose();
                    }
                }
            }

            Assert.True(acknowledged.Count >= KillAfterAcknowledged, $"only {acknowledged.Count} sends were acknowledged before the kill");

            using (var server = await ServerProcess.StartAsync(data.Path, port))
            {
                for (var i = 0; i < names.Length; i++)
                {
                    using var store = ClientStore.Open(homes[i].Path);
                    await using (var client = new ChatClient(store))
                    {
                        await client.SyncRoomAsync(Room, Ct);
                        await client.SyncRoomAsync(Room, Ct);
                    }

                    var messages = store.GetMessages(Room, unprintedOnly: false);
                    Assert.All(messages, m => Assert.Null(m.Error));
                    Assert.Equal(Enumerable.Range(1, messages.Count).Select(n => (long)n), messages.Select(m => m.Seq));
                    Assert.Equal(messages.Count, messages.Select(m => m.MessageId).Distinct().Count());
                    Assert.Equal(messages.Count, messages.Select(m => m.Text).Distinct().Count());
                    var byId = messages.ToDictionary(m => m.MessageId);
                    foreach (var (id, text) in acknowledged)
                    {
                        Assert.True(byId.TryGetValue(id, out var got), $"{names[i]} never received acknowledged message {id}");
                        Assert.Equal(text, got.Text);
                    }
                }

                // The same through the command line: Carol prints each message exactly once.
                using var output = new StringWriter();
                using var error = new StringWriter();
                var env = new CliEnvironment(homes[2].Path, output, error, TimeProvider.System);
                Assert.Equal(0, await CliApp.RunAsync(["read", "--room", Room, "--json"], env, handleTermination: false, cancellationToken: Ct));
                var ids = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!)
                    .ToList();
                Assert.Equal(ids.Count, ids.Distinct().Count());
                Assert.Superset(acknowledged.Keys.ToHashSet(), ids.ToHashSet());
                output.GetStringBuilder().Clear();
                Assert.Equal(0, await CliApp.RunAsync(["read", "--room", Room, "--json"], env, handleTermination: false, cancellationToken: Ct));
                Assert.Equal(string.Empty, output.ToString());
                server.Kill();
            }

            // The server's files (database, WAL, certificate...) never held the text.
            foreach (var file in Directory.GetFiles(data.Path, "*", SearchOption.AllDirectories))
            {
                var bytes = await File.ReadAllBytesAsync(file, Ct);
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)) < 0, $"{Path.GetFileName(file)} holds message text");
            }
        }
        finally
        {
            foreach (var home in homes)
            {
                home.Dispose();
            }
        }
    }
}
