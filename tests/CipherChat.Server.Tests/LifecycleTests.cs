using System.Text;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;
using CipherChat.Server.Tests.Support;

namespace CipherChat.Server.Tests;

public sealed class LifecycleTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_restarted_server_on_the_same_data_folder_keeps_accounts_rooms_and_messages()
    {
        using var key = TestClient.NewKey();
        ulong lastSeq;
        await using (var server = await TestServer.StartSqliteAsync(_directory.Path))
        {
            await using var alice = await TestClient.ConnectAsync(server.Endpoint);
            await alice.HelloAsync();
            await alice.RegisterAsync("alice", key: key);
            await alice.JoinAsync("r");
            for (var i = 0; i < 5; i++)
            {
                lastSeq = (await alice.SendMessageAsync("r", Encoding.UTF8.GetBytes("before " + i))).SendOk.Seq;
            }
        }

        await using (var server = await TestServer.StartSqliteAsync(_directory.Path))
        {
            await using var alice = await TestClient.LoggedInAsync(server.Endpoint, "alice", key);
            var fetched = (await alice.FetchAsync("r", 0)).FetchResult.Messages;
            Assert.Equal(Enumerable.Range(0, 5).Select(i => "before " + i), fetched.Select(m => m.Payload.ToStringUtf8()));
            lastSeq = (await alice.SendMessageAsync("r", Encoding.UTF8.GetBytes("after"))).SendOk.Seq;
            Assert.Equal(6UL, lastSeq);
        }
    }

    [Fact]
    public async Task Stopping_tells_connected_clients_and_closes_the_database()
    {
        var server = await TestServer.StartSqliteAsync(_directory.Path);
        await using var alice = await TestClient.RegisteredAsync(server.Endpoint, "alice");
        await alice.JoinAsync("r");
        await server.StopAsync(TestContext.Current.CancellationToken);

        var error = await alice.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.ShuttingDown, error.Code);

        // The database is closed and complete: it opens again and holds the membership.
        await using var store = await SqliteChatStore.OpenAsync(_directory.Path, TestContext.Current.CancellationToken);
        Assert.Single(await store.ListRoomsAsync("alice", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Sends_racing_a_shutdown_are_either_acknowledged_and_stored_or_not_stored()
    {
        using var key = TestClient.NewKey();
        var server = await TestServer.StartSqliteAsync(_directory.Path, o =>
        {
            o.SendBurst = 10000;
            o.SendRatePerSecond = 10000;
        });
        await using var alice = await TestClient.ConnectAsync(server.Endpoint);
        await alice.HelloAsync();
        await alice.RegisterAsync("alice", key: key);
        await alice.JoinAsync("r");

        // Pipeline many sends, then stop the server while they are in flight.
        var ids = new Dictionary<ulong, byte[]>();
        for (var i = 0; i < 200; i++)
        {
            var clientId = Guid.NewGuid().ToByteArray();
            var requestId = await alice.SendAsync(new Frame
            {
                Send = new Send { Room = "r", ClientMessageId = Google.Protobuf.ByteString.CopyFrom(clientId), Payload = Google.Protobuf.ByteString.CopyFrom(clientId) },
            });
            ids[requestId] = clientId;
        }

        var stopping = server.StopAsync(TestContext.Current.CancellationToken);
        var acknowledged = new HashSet<string>();
        var refused = 0;
        while (await alice.ReadAsync() is { } frame)
        {
            if (frame.BodyCase == Frame.BodyOneofCase.SendOk)
            {
                acknowledged.Add(Convert.ToHexString(ids[frame.RequestId]));
            }
            else if (frame.BodyCase == Frame.BodyOneofCase.Error)
            {
                Assert.Equal(ErrorCode.ShuttingDown, frame.Error.Code);
                refused++;
            }
        }

        await stopping;
        Assert.True(refused >= 1, "the client is told the server is shutting down");

        await using var restarted = await TestServer.StartSqliteAsync(_directory.Path);
        await using var back = await TestClient.LoggedInAsync(restarted.Endpoint, "alice", key);
        var stored = new HashSet<string>();
        ulong after = 0;
        while (true)
        {
            var page = (await back.FetchAsync("r", after, 500)).FetchResult;
            foreach (var m in page.Messages)
            {
                stored.Add(Convert.ToHexString(m.Payload.Span));
                after = m.Seq;
            }

            if (!page.HasMore)
            {
                break;
            }
        }

        // Every acknowledged message is stored; nothing unacknowledged beyond what was in flight is invented.
        Assert.Superset(acknowledged, stored);
        Assert.Subset(ids.Values.Select(Convert.ToHexString).ToHashSet(), stored);
        Assert.Equal((ulong)stored.Count, after);
    }

    [Fact]
    public async Task Tls_auto_creates_a_certificate_once_and_clients_see_its_fingerprint()
    {
        string fingerprint;
        await using (var server = await TestServer.StartInMemoryAsync(_directory.Path, o => o.Tls = "auto"))
        {
            fingerprint = server.CertificateFingerprint!;
            Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", fingerprint);
            await using var client = await TestClient.ConnectAsync(server.Endpoint, tls: true);
            Assert.Equal(fingerprint, client.ServerFingerprint);
            Assert.Equal(Frame.BodyOneofCase.HelloOk, (await client.RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = 1 } })).BodyCase);
        }

        var file = Path.Combine(_directory.Path, ServerCertificate.SelfSignedFileName);
        Assert.True(File.Exists(file));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        await using (var again = await TestServer.StartInMemoryAsync(_directory.Path, o => o.Tls = "auto"))
        {
            Assert.Equal(fingerprint, again.CertificateFingerprint);
            Assert.True(CertificateFingerprint.Matches(fingerprint.ToLowerInvariant().Replace(":", "", StringComparison.Ordinal), again.CertificateFingerprint));
        }
    }

    [Fact]
    public async Task Plain_bytes_on_a_TLS_port_do_not_reach_the_protocol()
    {
        await using var server = await TestServer.StartInMemoryAsync(_directory.Path, o => o.Tls = "auto");
        await using var plain = await TestClient.ConnectAsync(server.Endpoint);
        await plain.SendRawAsync(FrameCodec.Encode(new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = 1 } }));
        Assert.True(await plain.IsClosedAsync());
        await using var client = await TestClient.ConnectAsync(server.Endpoint, tls: true);
        Assert.Equal(Frame.BodyOneofCase.HelloOk, (await client.RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = 1 } })).BodyCase);
    }

    [Fact]
    public async Task An_idle_logged_in_connection_is_closed_and_pings_keep_it_alive()
    {
        // A timeout well above the ping interval, so that a loaded test machine cannot delay a ping past it.
        await using var server = await TestServer.StartInMemoryAsync(_directory.Path, o => o.IdleTimeoutSeconds = 2.5);
        await using var pinger = await TestClient.RegisteredAsync(server.Endpoint, "pinger");
        await using var idle = await TestClient.RegisteredAsync(server.Endpoint, "idle");

        var idleClosed = idle.ExpectErrorAndCloseAsync();
        for (var i = 0; i < 12; i++)
        {
            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.Equal(Frame.BodyOneofCase.Pong, (await pinger.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        }

        Assert.Equal(ErrorCode.Timeout, (await idleClosed).Code);
    }

    [Fact]
    public async Task The_health_endpoint_answers_and_serves_metrics()
    {
        await using var server = await TestServer.StartInMemoryAsync(_directory.Path, o => o.Health = "127.0.0.1:0");
        Assert.NotNull(server.HealthEndpoint);
        Assert.NotEqual(0, server.HealthEndpoint.Port);
        await using (await TestClient.RegisteredAsync(server.Endpoint, "alice"))
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://{server.HealthEndpoint}") };
            Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative), TestContext.Current.CancellationToken));
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Contains("cipherchat_connections_open 1", metrics, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Listen", "nonsense")]
    [InlineData("Tls", "maybe")]
    [InlineData("Registration", "closed")]
    [InlineData("MaxFrameBytes", "10")]
    [InlineData("MaxPayloadBytes", "2000000")]
    public void Invalid_options_are_refused_with_a_message(string property, string value)
    {
        var options = new ChatServerOptions();
        var p = typeof(ChatServerOptions).GetProperty(property)!;
        p.SetValue(options, p.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        var ex = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Default_options_listen_on_all_interfaces_port_12345_with_TLS()
    {
        var options = new ChatServerOptions();
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 12345), options.Validate());
        Assert.True(options.TlsEnabled);
        Assert.False(options.InviteRequired);
    }
}
