using CipherChat.Client.Identity;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Tests.Identity;

public sealed class PeerKeyStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 15, 0, 0, TimeSpan.Zero);

    private static byte[] Key(byte b) => Enumerable.Repeat(b, 32).ToArray();

    [Fact]
    public void First_key_is_pinned_and_then_matches()
    {
        using var home = new TempHome();
        using var store = PeerKeyStore.Open(home.Path);
        var first = store.Check("Bob", Key(1), Now);
        Assert.Equal(PeerKeyStatus.FirstSeen, first.Status);
        Assert.Equal("bob", first.Username);
        Assert.Null(first.Warning);

        var again = store.Check("bob", Key(1), Now.AddDays(1));
        Assert.Equal(PeerKeyStatus.Matches, again.Status);
        Assert.Null(again.Warning);
        Assert.Null(store.WarningFor("bob"));
        Assert.Equal(Now, store.Get("bob")!.FirstSeen);
    }

    [Fact]
    public void Changed_key_warns_loudly_keeps_the_pin_and_keeps_warning()
    {
        using var home = new TempHome();
        using var store = PeerKeyStore.Open(home.Path);
        store.Check("bob", Key(1), Now);

        var changed = store.Check("bob", Key(2), Now.AddHours(1));
        Assert.Equal(PeerKeyStatus.Changed, changed.Status);
        Assert.Equal(Key(1), changed.PinnedKey);
        Assert.Equal(Key(2), changed.PresentedKey);
        Assert.NotNull(changed.Warning);
        Assert.StartsWith("WARNING: THE KEY OF 'bob' HAS CHANGED", changed.Warning, StringComparison.Ordinal);
        Assert.Contains(SafetyNumber.Fingerprint(Key(1)), changed.Warning, StringComparison.Ordinal);
        Assert.Contains(SafetyNumber.Fingerprint(Key(2)), changed.Warning, StringComparison.Ordinal);

        // The pin is not replaced, and every later look-up still warns (also after reopening).
        Assert.Equal(PeerKeyStatus.Changed, store.Check("bob", Key(2), Now.AddHours(2)).Status);
        Assert.Equal(Key(1), store.Get("bob")!.PublicKey);
        Assert.Equal(changed.Warning, store.WarningFor("bob"));
        store.Dispose();
        using var reopened = PeerKeyStore.Open(home.Path);
        Assert.Equal(changed.Warning, reopened.WarningFor("BOB"));
    }

    [Fact]
    public void Accepting_the_new_key_pins_it_and_stops_the_warning()
    {
        using var home = new TempHome();
        using var store = PeerKeyStore.Open(home.Path);
        store.Check("bob", Key(1), Now);
        store.Check("bob", Key(2), Now);

        // Only the key actually seen can be accepted.
        Assert.False(store.Accept("bob", Key(3), Now));
        Assert.NotNull(store.WarningFor("bob"));

        Assert.True(store.Accept("bob", Key(2), Now.AddMinutes(5)));
        Assert.Null(store.WarningFor("bob"));
        Assert.Equal(PeerKeyStatus.Matches, store.Check("bob", Key(2), Now).Status);
        Assert.Equal(PeerKeyStatus.Changed, store.Check("bob", Key(1), Now).Status);
    }

    [Fact]
    public void Users_are_pinned_independently_and_bad_input_is_refused()
    {
        using var home = new TempHome();
        using var store = PeerKeyStore.Open(home.Path);
        store.Check("bob", Key(1), Now);
        Assert.Equal(PeerKeyStatus.FirstSeen, store.Check("carol", Key(1), Now).Status);
        Assert.Throws<ArgumentException>(() => store.Check("bob", new byte[31], Now));
        Assert.Throws<InvalidNameException>(() => store.Check("no spaces", Key(1), Now));
    }

    [Fact]
    public void Pins_live_beside_the_rest_of_the_client_state()
    {
        using var home = new TempHome();
        using (var store = PeerKeyStore.Open(home.Path))
        {
            store.Check("bob", Key(1), Now);
        }

        using var client = ClientStore.Open(home.Path);
        Assert.Empty(client.GetRooms());
        Assert.True(File.Exists(Path.Combine(home.Path, ClientStore.FileName)));
        using var again = PeerKeyStore.Open(home.Path);
        Assert.Equal(Key(1), again.Get("bob")!.PublicKey);
    }
}
