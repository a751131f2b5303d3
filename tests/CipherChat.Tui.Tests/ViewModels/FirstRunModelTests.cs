using CipherChat.Client;
using CipherChat.Client.Net;
using CipherChat.Tui.Backend;
using CipherChat.Tui.ViewModels;

namespace CipherChat.Tui.Tests.ViewModels;

public sealed class FirstRunModelTests
{
    private const string Fingerprint = "AB:CD:EF:01";

    private sealed class FakeRegistrar : IRegistrar
    {
        public List<string> Calls { get; } = [];

        public string Identity { get; set; } = Fingerprint;

        public string? RegisterError { get; set; }

        public Task<string> FetchIdentityAsync(ServerAddress server, bool tls, CancellationToken cancellationToken)
        {
            Calls.Add($"fetch {server} {tls}");
            return server.Host == "unreachable"
                ? throw new ConnectionFailedException("cannot connect to unreachable:12345")
                : Task.FromResult(Identity);
        }

        public Task RegisterAsync(ServerAddress server, bool tls, string username, string? inviteCode, CancellationToken cancellationToken)
        {
            Calls.Add($"register {server} {tls} {username} {inviteCode ?? "-"}");
            return RegisterError is null ? Task.CompletedTask : throw new ChatClientException(RegisterError);
        }

        public void Forget(ServerAddress server) => Calls.Add($"forget {server}");
    }

    private readonly FakeRegistrar _registrar = new();

    [Fact]
    public async Task The_fingerprint_is_shown_before_anything_is_registered()
    {
        var model = new FirstRunModel(_registrar);

        Assert.True(await model.ConnectAsync(" chat.example.org ", "Alice", tls: true, inviteCode: "", TestContext.Current.CancellationToken));

        Assert.Equal(FirstRunStep.Confirming, model.Step);
        Assert.Contains(Fingerprint, model.Message, StringComparison.Ordinal);
        Assert.Equal(["fetch chat.example.org:12345 True"], _registrar.Calls);
    }

    [Fact]
    public async Task Accepting_registers_with_the_normalized_name_and_invite()
    {
        var model = new FirstRunModel(_registrar);
        await model.ConnectAsync("10.0.0.2:4000", "Alice", tls: false, inviteCode: " code-1 ", TestContext.Current.CancellationToken);

        Assert.True(await model.AcceptAsync(TestContext.Current.CancellationToken));

        Assert.Equal(FirstRunStep.Done, model.Step);
        Assert.Equal("register 10.0.0.2:4000 False alice code-1", _registrar.Calls[^1]);
    }

    [Fact]
    public async Task Rejecting_forgets_the_server_and_returns_to_the_fields()
    {
        var model = new FirstRunModel(_registrar);
        await model.ConnectAsync("chat.example.org", "alice", tls: true, inviteCode: null, TestContext.Current.CancellationToken);

        model.Reject();

        Assert.Equal(FirstRunStep.Entering, model.Step);
        Assert.Equal("forget chat.example.org:12345", _registrar.Calls[^1]);
        Assert.DoesNotContain(_registrar.Calls, c => c.StartsWith("register", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "alice", "HOST or HOST:PORT")]
    [InlineData("host:99999", "alice", "HOST or HOST:PORT")]
    [InlineData("host", "", "user name")]
    [InlineData("host", "Bad Name!", "user name")]
    [InlineData("unreachable", "alice", "cannot connect")]
    public async Task Bad_fields_and_failures_are_explained(string server, string user, string expected)
    {
        var model = new FirstRunModel(_registrar);

        Assert.False(await model.ConnectAsync(server, user, tls: true, inviteCode: null, TestContext.Current.CancellationToken));

        Assert.True(model.IsError);
        Assert.Equal(FirstRunStep.Entering, model.Step);
        Assert.Contains(expected, model.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_registration_goes_back_and_says_why()
    {
        _registrar.RegisterError = "the user name 'alice' is taken";
        var model = new FirstRunModel(_registrar);
        await model.ConnectAsync("host", "alice", tls: true, inviteCode: null, TestContext.Current.CancellationToken);

        Assert.False(await model.AcceptAsync(TestContext.Current.CancellationToken));

        Assert.Equal(FirstRunStep.Entering, model.Step);
        Assert.Contains("is taken", model.Message, StringComparison.Ordinal);
        Assert.Equal("forget host:12345", _registrar.Calls[^1]);
    }

    [Fact]
    public async Task A_plain_server_is_called_out()
    {
        _registrar.Identity = ServerPins.Plaintext;
        var model = new FirstRunModel(_registrar);

        await model.ConnectAsync("host", "alice", tls: false, inviteCode: null, TestContext.Current.CancellationToken);

        Assert.Contains("without TLS", model.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accepting_before_connecting_is_refused()
    {
        var model = new FirstRunModel(_registrar);

        Assert.False(await model.AcceptAsync(TestContext.Current.CancellationToken));
        Assert.Empty(_registrar.Calls);
    }
}
