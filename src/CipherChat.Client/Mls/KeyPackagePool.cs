using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Client.Mls;

/// <summary>
/// This device's published KeyPackages: a batch of one-time ones, used at most once each, and one last-resort
/// KeyPackage that is handed out only when the batch on the server is empty and is kept after use. Their private
/// keys stay in the <see cref="MlsStateStore"/> until a Welcome uses them.
/// </summary>
public sealed class KeyPackagePool
{
    /// <summary>One-time KeyPackages kept available by <see cref="TopUp"/> unless told otherwise.</summary>
    public const int DefaultTarget = 20;

    private readonly MlsStateStore _store;
    private readonly MlsMember _member;
    private readonly TimeProvider _time;

    public KeyPackagePool(MlsStateStore store, MlsMember member, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(member);
        _store = store;
        _member = member;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Unused one-time KeyPackages held (their private keys are kept).</summary>
    public int OneTimeCount => _store.GetKeyPackages().Count(k => !k.LastResort);

    /// <summary>
    /// Creates one-time KeyPackages until <paramref name="target"/> are held, and the last-resort one when there is
    /// none. Returns the new KeyPackages (MLSMessage-free <c>KeyPackage</c> encoding) to upload, with their kind.
    /// </summary>
    public IReadOnlyList<PublishedKeyPackage> TopUp(int target = DefaultTarget)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        var held = _store.GetKeyPackages();
        var created = new List<PublishedKeyPackage>();
        for (var i = held.Count(k => !k.LastResort); i < target; i++)
        {
            created.Add(CreateAndStore(lastResort: false));
        }

        if (!held.Any(k => k.LastResort))
        {
            created.Add(CreateAndStore(lastResort: true));
        }

        return created;
    }

    /// <summary>Every KeyPackage still held, for a re-upload after the server lost them.</summary>
    public IReadOnlyList<PublishedKeyPackage> All() =>
        _store.GetKeyPackages().Select(k => new PublishedKeyPackage(k.KeyPackage, k.Reference, k.LastResort)).ToList();

    /// <summary>
    /// The KeyPackage a Welcome was made for (matched by KeyPackageRef), with its private keys. A one-time
    /// KeyPackage is forgotten only by <see cref="MarkUsed"/>, after the join succeeded, so a failed join can be retried.
    /// </summary>
    internal (KeyPackageBundle Bundle, bool LastResort) FindFor(Welcome welcome)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        foreach (var stored in _store.GetKeyPackages())
        {
            if (welcome.Secrets.Any(s => s.NewMember.Span.SequenceEqual(stored.Reference)))
            {
                try
                {
                    var keyPackage = KeyPackage.FromBytes(stored.KeyPackage);
                    return (KeyPackageBundle.FromPrivateKeys(keyPackage, stored.InitPrivateKey, stored.EncryptionPrivateKey), stored.LastResort);
                }
                catch (MlsException ex)
                {
                    throw new MlsRoomException("a stored KeyPackage is damaged", ex);
                }
            }
        }

        throw new MlsRoomException("the invitation was made for a KeyPackage this device does not hold (already used, or from another device)");
    }

    internal void MarkUsed(ReadOnlySpan<byte> reference, bool lastResort)
    {
        if (!lastResort)
        {
            _store.RemoveKeyPackage(reference);
        }
    }

    private PublishedKeyPackage CreateAndStore(bool lastResort)
    {
        using var bundle = KeyPackages.Create(MlsCipherSuite.Default, _member.Credential, _member.Signer, new KeyPackageOptions
        {
            Now = _time.GetUtcNow(),

            // A last-resort KeyPackage may be used by several inviters over a long time.
            Lifetime = lastResort ? TimeSpan.FromDays(90) : TimeSpan.FromDays(30),
        });
        var encoded = bundle.KeyPackage.ToBytes();
        _store.AddKeyPackage(new StoredKeyPackage(
            bundle.Reference, encoded, bundle.InitKey.PrivateKey.ToArray(), bundle.EncryptionKey.PrivateKey.ToArray(), lastResort, _time.GetUtcNow()));
        return new PublishedKeyPackage(encoded, bundle.Reference, lastResort);
    }
}

/// <summary>A KeyPackage to upload: its encoding (RFC 9420 <c>KeyPackage</c>), its KeyPackageRef, and whether it is the last-resort one.</summary>
public sealed record PublishedKeyPackage(byte[] KeyPackage, byte[] Reference, bool LastResort);
