using System.Security.Cryptography.X509Certificates;
using CipherChat.Client.Net;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Tests.Integration;

/// <summary>TLS connections to a real server: the certificate is trusted by its pinned fingerprint, never by a chain.</summary>
public sealed class PinnedTlsTests
{
    private const string OtherFingerprint =
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

    [Fact]
    public async Task The_certificate_is_pinned_on_first_use_and_another_one_is_refused()
    {
        await using var server = await TestServer.StartAsync(tls: true);
        using var home = new TempHome();
        using var store = ClientStore.Open(home.Path);
        var address = ServerAddress.Parse($"127.0.0.1:{server.Port}");
        var ct = TestContext.Current.CancellationToken;

        await using (var first = await ServerConnection.OpenAsync(address, tls: true, store, "tests", cancellationToken: ct))
        {
            Assert.True(first.PinnedNow);
            Assert.Equal(server.Fingerprint, first.Identity);
        }

        await using (var again = await ServerConnection.OpenAsync(address, tls: true, store, "tests", cancellationToken: ct))
        {
            Assert.False(again.PinnedNow);
        }

        // The address is pinned to another certificate (the server's was swapped, or someone is in between).
        store.ReplacePin(address.ToString(), OtherFingerprint, DateTimeOffset.UtcNow);
        var refused = await Assert.ThrowsAsync<ServerIdentityChangedException>(
            () => ServerConnection.OpenAsync(address, tls: true, store, "tests", cancellationToken: ct));
        Assert.Contains(server.Fingerprint!, refused.Message, StringComparison.Ordinal);
        Assert.Equal(OtherFingerprint, store.GetPin(address.ToString()));
    }

    [Fact]
    public void The_chain_built_during_the_handshake_uses_no_system_roots_downloads_or_revocation_lookups()
    {
        var policy = ServerConnection.PinnedOnlyChainPolicy();
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.Empty(policy.CustomTrustStore);
        Assert.True(policy.DisableCertificateDownloads);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
    }
}
