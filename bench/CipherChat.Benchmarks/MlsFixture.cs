using System.Text;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Benchmarks;

/// <summary>
/// Builds a group of n members for the benchmarks: alice (leaf 0) creates it and adds everyone in one commit, bob
/// (leaf 1) joins from the Welcome and then commits an update, which alice processes. Only alice and bob hold state;
/// the other members exist as leaves. In such a freshly grown tree most parent nodes are blank, which is what a
/// committer sees in a group whose members have not yet committed.
/// </summary>
public sealed class MlsFixture : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public MlsFixture(int members)
    {
        AliceSigner = Own(SignatureKeyPair.Generate());
        BobSigner = Own(SignatureKeyPair.Generate());
        var aliceKp = Own(KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic("alice"u8.ToArray()), AliceSigner));
        BobKeyPackage = Own(KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic("bob"u8.ToArray()), BobSigner));
        var others = new List<KeyPackage> { BobKeyPackage.KeyPackage };
        for (var i = 2; i < members; i++)
        {
            using var signer = SignatureKeyPair.Generate();
            using var kp = KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic(Encoding.UTF8.GetBytes("member" + i)), signer);
            others.Add(kp.KeyPackage);
        }

        Alice = Own(MlsGroup.Create("benchmark group"u8.ToArray(), aliceKp, AliceSigner));
        var commit = Alice.Commit(new CommitOptions { Add = others, ForcePath = true });
        Alice.MergePendingCommit();
        Welcome = (Welcome)commit.Welcome!.Body;
        Bob = Own(MlsGroup.Join(Welcome, BobKeyPackage, BobSigner));
        var update = Bob.Commit();
        Bob.MergePendingCommit();
        Alice.Process(update.Commit);

        NewcomerSigner = Own(SignatureKeyPair.Generate());
        Newcomer = Own(KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic("newcomer"u8.ToArray()), NewcomerSigner));
    }

    public SignatureKeyPair AliceSigner { get; }

    public SignatureKeyPair BobSigner { get; }

    public KeyPackageBundle BobKeyPackage { get; }

    public MlsGroup Alice { get; }

    public MlsGroup Bob { get; }

    /// <summary>The Welcome that brought bob in (for join benchmarks).</summary>
    public Welcome Welcome { get; }

    public SignatureKeyPair NewcomerSigner { get; }

    public KeyPackageBundle Newcomer { get; }

    public void Dispose()
    {
        foreach (var item in _owned)
        {
            item.Dispose();
        }
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}
