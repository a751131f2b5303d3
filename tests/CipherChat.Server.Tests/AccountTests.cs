using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;
using CipherChat.Server.Tests.Support;
using Google.Protobuf;
using NSec.Cryptography;

namespace CipherChat.Server.Tests;

public sealed class AccountTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ChatServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await TestServer.StartInMemoryAsync(_directory.Path);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Register_then_log_in_again_with_the_same_key()
    {
        using var key = TestClient.NewKey();
        await using (var first = await TestClient.ConnectAsync(_server.Endpoint))
        {
            var hello = await first.HelloAsync();
            Assert.Equal(32, hello.Challenge.Length);
            Assert.Equal(1u, hello.ProtocolVersion);
            Assert.False(hello.InviteRequired);
            var reply = await first.RegisterAsync("Alice", key: key);
            Assert.Equal("alice", reply.LoginOk.Username);
        }

        await using var second = await TestClient.ConnectAsync(_server.Endpoint);
        await second.HelloAsync();
        var login = await second.LoginAsync("ALICE", key);
        Assert.Equal("alice", login.LoginOk.Username);
    }

    [Fact]
    public async Task Each_connection_gets_a_fresh_challenge()
    {
        await using var a = await TestClient.ConnectAsync(_server.Endpoint);
        await using var b = await TestClient.ConnectAsync(_server.Endpoint);
        Assert.NotEqual((await a.HelloAsync()).Challenge, (await b.HelloAsync()).Challenge);
    }

    [Fact]
    public async Task Login_with_a_wrong_signature_is_refused()
    {
        await using (await TestClient.RegisteredAsync(_server.Endpoint, "bob"))
        {
        }

        using var otherKey = TestClient.NewKey();
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        await client.SendAsync(new Frame
        {
            Login = new Login
            {
                Username = "bob",
                Signature = ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(otherKey, AuthTranscript.ForLogin(client.Challenge, "bob"))),
            },
        });
        var error = await client.ExpectErrorAndCloseAsync();
        Assert.Equal(ErrorCode.AuthFailed, error.Code);
    }

    [Fact]
    public async Task A_signature_over_another_challenge_is_refused()
    {
        using var key = TestClient.NewKey();
        await using (var first = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await first.HelloAsync();
            await first.RegisterAsync("carol", key: key);
        }

        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        var replayed = SignatureAlgorithm.Ed25519.Sign(key, AuthTranscript.ForLogin(new byte[32], "carol"));
        await client.SendAsync(new Frame { Login = new Login { Username = "carol", Signature = ByteString.CopyFrom(replayed) } });
        Assert.Equal(ErrorCode.AuthFailed, (await client.ExpectErrorAndCloseAsync()).Code);
    }

    [Fact]
    public async Task Login_for_an_unknown_user_says_so()
    {
        using var key = TestClient.NewKey();
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        var reply = await client.LoginAsync("nobody", key);
        Assert.Equal(ErrorCode.UnknownUser, reply.Error.Code);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_name_is_taken_regardless_of_case()
    {
        await using (await TestClient.RegisteredAsync(_server.Endpoint, "dave"))
        {
        }

        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        var reply = await client.RegisterAsync("DaVe");
        Assert.Equal(ErrorCode.UsernameTaken, reply.Error.Code);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Invalid_usernames_and_keys_are_refused()
    {
        await using (var client = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await client.HelloAsync();
            Assert.Equal(ErrorCode.InvalidUsername, (await client.RegisterAsync("no spaces")).Error.Code);
        }

        await using (var client = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await client.HelloAsync();
            var reply = await client.RequestAsync(new Frame
            {
                Register = new Register { Username = "erin", Ed25519PublicKey = ByteString.CopyFrom(new byte[31]), Signature = ByteString.CopyFrom(new byte[64]) },
            });
            Assert.Equal(ErrorCode.InvalidKey, reply.Error.Code);
        }
    }

    [Fact]
    public async Task A_registration_signed_with_another_key_is_refused()
    {
        using var claimed = TestClient.NewKey();
        using var signer = TestClient.NewKey();
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        var publicKey = claimed.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var signature = SignatureAlgorithm.Ed25519.Sign(signer, AuthTranscript.ForRegister(client.Challenge, "frank", publicKey));
        var reply = await client.RequestAsync(new Frame
        {
            Register = new Register { Username = "frank", Ed25519PublicKey = ByteString.CopyFrom(publicKey), Signature = ByteString.CopyFrom(signature) },
        });
        Assert.Equal(ErrorCode.AuthFailed, reply.Error.Code);
    }

    [Fact]
    public async Task Invite_only_registration_needs_a_valid_unused_code()
    {
        var store = new InMemoryChatStore();
        using var directory = new TempDirectory();
        await using var server = await TestServer.StartInMemoryAsync(directory.Path, o => o.Registration = "invite", store);
        var code = InviteCodes.Create();
        await store.AddInviteAsync(InviteCodes.Hash(code), DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);

        await using (var client = await TestClient.ConnectAsync(server.Endpoint))
        {
            Assert.True((await client.HelloAsync()).InviteRequired);
            Assert.Equal(ErrorCode.InviteRequired, (await client.RegisterAsync("gina")).Error.Code);
        }

        await using (var client = await TestClient.ConnectAsync(server.Endpoint))
        {
            await client.HelloAsync();
            Assert.Equal(ErrorCode.InvalidInvite, (await client.RegisterAsync("gina", InviteCodes.Create())).Error.Code);
        }

        await using (var client = await TestClient.ConnectAsync(server.Endpoint))
        {
            await client.HelloAsync();
            Assert.Equal(Frame.BodyOneofCase.LoginOk, (await client.RegisterAsync("gina", code.ToUpperInvariant())).BodyCase);
        }

        await using (var client = await TestClient.ConnectAsync(server.Endpoint))
        {
            await client.HelloAsync();
            Assert.Equal(ErrorCode.InvalidInvite, (await client.RegisterAsync("hank", code)).Error.Code);
        }

        await store.DisposeAsync();
    }

    [Fact]
    public async Task Hello_twice_is_a_protocol_violation()
    {
        await using var client = await TestClient.ConnectAsync(_server.Endpoint);
        await client.HelloAsync();
        await client.SendAsync(new Frame { Hello = new Hello { ProtocolVersion = 1 } });
        Assert.Equal(ErrorCode.ProtocolViolation, (await client.ExpectErrorAndCloseAsync()).Code);
    }
}
