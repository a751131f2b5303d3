using CipherChat.Client.Net;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Tests;

public sealed class ServerPinsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 14, 3, 0, TimeSpan.Zero);
    private static readonly ServerAddress Server = new("chat.example", 12345);
    private const string First = "AA:BB:CC";
    private const string Second = "DD:EE:FF";

    [Fact]
    public void The_first_use_pins_and_the_same_identity_passes_later()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        Assert.True(ServerPins.Verify(store, Server, First, Now));
        Assert.Equal(First, store.GetPin("chat.example:12345"));
        Assert.False(ServerPins.Verify(store, Server, First, Now));
    }

    [Fact]
    public void A_changed_certificate_is_refused_with_what_changed_and_what_to_do()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        ServerPins.Verify(store, Server, First, Now);

        var ex = Assert.Throws<ServerIdentityChangedException>(() => ServerPins.Verify(store, Server, Second, Now));

        Assert.Contains(First, ex.Message, StringComparison.Ordinal);
        Assert.Contains(Second, ex.Message, StringComparison.Ordinal);
        Assert.Contains("cipherchat trust --server chat.example:12345", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(First, store.GetPin("chat.example:12345"));
    }

    [Fact]
    public void A_tls_server_is_never_used_in_plaintext_and_the_reverse()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        ServerPins.Verify(store, Server, First, Now);
        var down = Assert.Throws<ServerIdentityChangedException>(() => ServerPins.Verify(store, Server, ServerPins.Plaintext, Now));
        Assert.Contains("without TLS", down.Message, StringComparison.Ordinal);

        var lan = new ServerAddress("10.0.0.2", 12345);
        ServerPins.Verify(store, lan, ServerPins.Plaintext, Now);
        Assert.Throws<ServerIdentityChangedException>(() => ServerPins.Verify(store, lan, First, Now));
    }

    [Fact]
    public void Pins_are_per_host_and_port_and_trust_replaces_them()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        ServerPins.Verify(store, Server, First, Now);
        Assert.True(ServerPins.Verify(store, Server with { Port = 4000 }, Second, Now));

        store.ReplacePin(Server.ToString(), Second, Now);
        Assert.False(ServerPins.Verify(store, Server, Second, Now));
    }

    [Fact]
    public void Checking_alone_pins_nothing_so_a_failed_first_attempt_leaves_no_pin()
    {
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        Assert.True(ServerPins.Check(store, Server, ServerPins.Plaintext));
        Assert.Null(store.GetPin(Server.ToString()));
        Assert.True(ServerPins.Pin(store, Server, First, Now));
        Assert.False(ServerPins.Check(store, Server, First));
        Assert.Throws<ServerIdentityChangedException>(() => ServerPins.Check(store, Server, Second));
        Assert.Throws<ServerIdentityChangedException>(() => ServerPins.Pin(store, Server, Second, Now));
    }
}
