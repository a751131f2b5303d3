using System.Buffers.Binary;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Hosting;
using CipherChat.Server.Tests.Support;
using Google.Protobuf;

namespace CipherChat.Server.Tests;

/// <summary>Bad bytes and bad behaviour: each gets a clear error frame and the server keeps serving others.</summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ChatServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await TestServer.StartInMemoryAsync(_directory.Path, o =>
    {
        o.MaxFrameBytes = 8 * 1024;
        o.MaxPayloadBytes = 4 * 1024;
        o.HandshakeTimeoutSeconds = 0.5;
        o.SendBurst = 5;
        o.SendRatePerSecond = 0.5;
    });

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>A new client can still register, join and send after the bad one.</summary>
    private async Task AssertServerStillServesAsync()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "ok" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(Frame.BodyOneofCase.JoinRoomOk, (await client.JoinAsync("healthy")).BodyCase);
        Assert.Equal(Frame.BodyOneofCase.SendOk, (await client.SendMessageAsync("healthy", [1, 2, 3])).BodyCase);
    }

    private static byte[] Prefix(uint length)
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, length);
        return prefix;
    }

    [Fact]
    public async Task Random_bytes_get_an_error_and_the_connection_is_closed()
    {
        var random = new Random(42);
        for (var i = 0; i < 5; i++)
        {
            await using var client = await TestClient.ConnectAsync(_server.Endpoint);
            var junk = new byte[200];
            random.NextBytes(junk);
            await client.SendRawAsync(junk);
            var error = await client.ExpectErrorAndCloseAsync();
            Assert.True(error.Code is ErrorCode.MalformedFrame or ErrorCode.FrameTooLarge or ErrorCode.ProtocolViolation or ErrorCode.UnknownMessage, $"unexpected {error.Code}");
        }

        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task A_frame_over_the_limit_is_refused_from_its_length_prefix()
    {
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.SendRawAsync(Prefix(8 * 1024 + 1));
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task A_truncated_frame_is_reported_as_malformed()
    {
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        var hello = FrameCodec.Encode(new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = 1 } });
        await client.SendRawAsync(hello[..^2]);
        client.ShutdownSend();
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.MalformedFrame, error.Code);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task Garbage_protobuf_inside_a_valid_length_is_malformed()
    {
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        byte[] body = [0x52, 0x7F, 0x01];
        await client.SendRawAsync([.. Prefix((uint)body.Length), .. body]);
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.MalformedFrame, error.Code);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task An_unknown_frame_type_gets_an_error_and_the_connection_stays_up()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "future");
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteUInt64(77);
        output.WriteTag(99, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("a message from the future"));
        output.Flush();
        var body = stream.ToArray();
        await client.SendRawAsync([.. Prefix((uint)body.Length), .. body]);

        var reply = await client.ReadAsync();
        Assert.Equal(Frame.BodyOneofCase.Error, reply!.BodyCase);
        Assert.Equal(ErrorCode.UnknownMessage, reply.Error.Code);
        Assert.Equal(77UL, reply.RequestId);
        Assert.Equal(Frame.BodyOneofCase.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
    }

    [Fact]
    public async Task A_handshake_that_never_finishes_times_out()
    {
        await using var silent = await TestClient.ConnectAsync(_server.Endpoint);
        var error = await silent.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.Timeout, error.Code);

        await using var halfway = await TestClient.ConnectAsync(_server.Endpoint);
        await halfway.HelloAsync();
        error = await halfway.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.Timeout, error.Code);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task An_unknown_protocol_version_is_refused_clearly()
    {
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.SendAsync(new Frame { Hello = new Hello { ProtocolVersion = 2 } });
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.UnsupportedVersion, error.Code);
        Assert.Equal("server speaks version 1", error.Message);
        Assert.Equal(1UL, error.RequestId);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task A_request_before_Hello_or_before_login_is_a_protocol_violation()
    {
        await using (var client = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await client.SendAsync(new Frame { ListRooms = new ListRooms() });
            Assert.Equal(ErrorCode.ProtocolViolation, (await client.ExpectErrorAndCloseAsync()).Code);
        }

        await using (var client = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await client.HelloAsync();
            await client.SendAsync(new Frame { Send = new Send { Room = "x" } });
            Assert.Equal(ErrorCode.ProtocolViolation, (await client.ExpectErrorAndCloseAsync()).Code);
        }

        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task A_server_only_message_from_a_client_is_a_protocol_violation()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "confused");
        await client.SendAsync(new Frame { SendOk = new SendOk { Seq = 1 } });
        Assert.Equal(ErrorCode.ProtocolViolation, (await client.ExpectErrorAndCloseAsync()).Code);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task An_oversized_message_is_too_large_and_the_connection_stays_up()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "talker");
        await client.JoinAsync("r");
        var reply = await client.SendMessageAsync("r", new byte[4 * 1024 + 1]);
        Assert.Equal(ErrorCode.MessageTooLarge, reply.Error.Code);
        Assert.Equal("too large", reply.Error.Message);
        Assert.Equal(Frame.BodyOneofCase.SendOk, (await client.SendMessageAsync("r", new byte[4 * 1024])).BodyCase);
        var fetched = await client.FetchAsync("r", 0);
        Assert.Single(fetched.FetchResult.Messages);
    }

    [Fact]
    public async Task Sending_too_fast_gets_slow_down_and_the_connection_stays_up()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "spammer");
        await client.JoinAsync("r");
        var replies = new List<Frame>();
        for (var i = 0; i < 8; i++)
        {
            replies.Add(await client.SendMessageAsync("r", [(byte)i]));
        }

        Assert.Equal(5, replies.Count(r => r.BodyCase == Frame.BodyOneofCase.SendOk));
        var limited = replies.Where(r => r.BodyCase == Frame.BodyOneofCase.Error).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, r => Assert.Equal(ErrorCode.RateLimited, r.Error.Code));
        Assert.All(limited, r => Assert.Equal("slow down", r.Error.Message));
        Assert.Equal(Frame.BodyOneofCase.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        Assert.Equal(5, (await client.FetchAsync("r", 0)).FetchResult.Messages.Count);
    }

    [Fact]
    public async Task Malformed_requests_get_specific_errors()
    {
        await using var client = await TestClient.RegisteredAsync(_server.Endpoint, "sloppy");
        await client.JoinAsync("r");
        Assert.Equal(ErrorCode.InvalidRoomName, (await client.JoinAsync("bad room")).Error.Code);
        Assert.Equal(ErrorCode.InvalidRequest, (await client.JoinAsync("r2", new byte[3])).Error.Code);
        Assert.Equal(ErrorCode.InvalidRequest, (await client.SendMessageAsync("r", [1], new byte[5])).Error.Code);
        Assert.Equal(ErrorCode.InvalidRequest, (await client.SendMessageAsync("r", [])).Error.Code);
        var mls = await client.RequestAsync(new Frame { JoinRoom = new JoinRoom { Room = "m", Kind = RoomKind.Mls } });
        Assert.Equal(ErrorCode.UnsupportedRoomKind, mls.Error.Code);
        Assert.Equal(Frame.BodyOneofCase.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
    }
}
