using System.Net.Sockets;
using CipherChat.Protocol.V1;
using CipherChat.Server.Tests.Support;
using Google.Protobuf;

namespace CipherChat.Server.Tests.Transport;

/// <summary>
/// The chat port's own transport, with TLS on and off: frames coalesced by the sender threads
/// arrive whole and in order, frames larger than a sender's buffer too, what the kernel cannot take
/// at once is sent later in order, and connections that never finish TLS are cut off.
/// </summary>
public sealed class SocketTransportTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>A server without the per-client send-rate limit, so that one client can send as fast as it likes.</summary>
    private Task<Hosting.ChatServer> StartFastServerAsync(bool tls, int queuedFrames) =>
        TestServer.StartInMemoryAsync(_directory.Path, o =>
        {
            o.Tls = tls ? "auto" : "off";
            o.SendBurst = 10_000;
            o.SendRatePerSecond = 10_000;
            o.OutboundQueueFrames = queuedFrames;
        });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pipelined_messages_reach_every_member_whole_and_in_order(bool tls)
    {
        await using var server = await StartFastServerAsync(tls, queuedFrames: 4_096);
        await using var sender = await TestClient.RegisteredAsync(server.Endpoint, "sender", tls: tls);
        var readers = new List<TestClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                readers.Add(await TestClient.RegisteredAsync(server.Endpoint, "reader" + i, tls: tls));
                await readers[i].JoinAsync("r");
            }

            await sender.JoinAsync("r");

            // Sizes from a few bytes to the payload limit: the largest frames do not fit a sender's
            // 64 KiB buffer and are written on their own, the small ones are packed together.
            const int Count = 400;
            var sizes = Enumerable.Range(0, Count).Select(i => i % 50 == 7 ? 64 * 1024 : 1 + (i * 37 % 900)).ToArray();
            for (var i = 0; i < Count; i++)
            {
                var payload = new byte[sizes[i]];
                payload.AsSpan().Fill((byte)i);
                await sender.SendAsync(new Frame { Send = new Send { Room = "r", Payload = ByteString.CopyFrom(payload), ClientMessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) } });
            }

            foreach (var reader in readers)
            {
                for (var i = 0; i < Count; i++)
                {
                    var message = (await reader.NextEventAsync()).MessageEvent;
                    Assert.Equal((ulong)(i + 1), message.Seq);
                    Assert.Equal(sizes[i], message.Payload.Length);
                    Assert.All(message.Payload.ToByteArray(), b => Assert.Equal((byte)i, b));
                }
            }
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reader_slower_than_the_sender_still_gets_everything_in_order(bool tls)
    {
        await using var server = await StartFastServerAsync(tls, queuedFrames: 1_024);
        await using var sender = await TestClient.RegisteredAsync(server.Endpoint, "sender", tls: tls);
        await using var slow = await TestClient.RegisteredAsync(server.Endpoint, "slow", tls: tls, receiveBufferBytes: 4096);
        await slow.JoinAsync("r");
        await sender.JoinAsync("r");

        // 120 × 60 KiB is far more than the socket buffers hold: most of it waits in the server
        // and leaves as the reader makes room.
        const int Count = 120;
        var payload = new byte[60 * 1024];
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(Frame.BodyOneofCase.SendOk, (await sender.SendMessageAsync("r", payload)).BodyCase);
        }

        for (var i = 0; i < Count; i++)
        {
            if (i % 20 == 0)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            var message = (await slow.NextEventAsync()).MessageEvent;
            Assert.Equal((ulong)(i + 1), message.Seq);
            Assert.Equal(payload.Length, message.Payload.Length);
        }

        Assert.Equal(0L, server.Core.Metrics.SlowConsumers);
    }

    [Fact]
    public async Task A_connection_that_never_finishes_the_TLS_handshake_is_cut_off()
    {
        await using var server = await TestServer.StartInMemoryAsync(_directory.Path, o =>
        {
            o.Tls = "auto";
            o.HandshakeTimeoutSeconds = 0.5;
        });
        using var silent = new Socket(server.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(server.Endpoint, TestContext.Current.CancellationToken);

        // Closed by the server: the read ends (0 bytes, or a reset) well before the test's own limit.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[16];
        int read;
        try
        {
            read = await silent.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
        }
        catch (SocketException)
        {
            read = 0;
        }

        Assert.Equal(0, read);

        // The server is unaffected.
        await using var client = await TestClient.ConnectAsync(server.Endpoint, tls: true);
        Assert.Equal(Frame.BodyOneofCase.HelloOk, (await client.RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = 1 } })).BodyCase);
    }

    [Fact]
    public async Task Stopping_the_server_tells_TLS_clients_and_closes_their_connections()
    {
        var server = await TestServer.StartInMemoryAsync(_directory.Path, o => o.Tls = "auto");
        await using var client = await TestClient.RegisteredAsync(server.Endpoint, "alice", tls: true);
        await server.StopAsync(TestContext.Current.CancellationToken);
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.ShuttingDown, error.Code);
        Assert.Equal(0L, server.Core.Metrics.ConnectionsOpen);
    }
}
