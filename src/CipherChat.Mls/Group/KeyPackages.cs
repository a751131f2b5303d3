using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Group;

/// <summary>A KeyPackage with the private keys that go with it (RFC 9420 §10). Dispose wipes the keys.</summary>
public sealed class KeyPackageBundle : IDisposable
{
    internal KeyPackageBundle(KeyPackage keyPackage, HpkeKeyPair initKey, HpkeKeyPair encryptionKey, byte[] reference)
    {
        KeyPackage = keyPackage;
        InitKey = initKey;
        EncryptionKey = encryptionKey;
        Reference = reference;
    }

    public KeyPackage KeyPackage { get; }

    /// <summary>Rebuilds a bundle from a KeyPackage and its two HPKE private keys, checking that they match.</summary>
    public static KeyPackageBundle FromPrivateKeys(KeyPackage keyPackage, ReadOnlySpan<byte> initPrivateKey, ReadOnlySpan<byte> encryptionPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(keyPackage);
        var init = Hpke.DeserializePrivateKey(initPrivateKey);
        var encryption = Hpke.DeserializePrivateKey(encryptionPrivateKey);
        if (!init.PublicKey.AsSpan().SequenceEqual(keyPackage.InitKey.Span)
            || !encryption.PublicKey.AsSpan().SequenceEqual(keyPackage.LeafNode.EncryptionKey.Span))
        {
            init.Dispose();
            encryption.Dispose();
            throw new MlsMisuseException("The private keys do not belong to the KeyPackage.");
        }

        var reference = MlsCipherSuite.Default.MakeKeyPackageRef(keyPackage.ToBytes());
        return new KeyPackageBundle(keyPackage, init, encryption, reference);
    }

    /// <summary>The HPKE key pair of init_key, used once to open a Welcome.</summary>
    public HpkeKeyPair InitKey { get; }

    /// <summary>The HPKE key pair of the leaf's encryption_key.</summary>
    public HpkeKeyPair EncryptionKey { get; }

    /// <summary>KeyPackageRef (RFC 9420 §5.2).</summary>
    public byte[] Reference { get; }

    public void Dispose()
    {
        InitKey.Dispose();
        EncryptionKey.Dispose();
    }
}

/// <summary>Options for a new KeyPackage.</summary>
public sealed record KeyPackageOptions
{
    /// <summary>The leaf's capabilities; <see cref="KeyPackages.DefaultCapabilities"/> when null.</summary>
    public Capabilities? Capabilities { get; init; }

    /// <summary>How long the KeyPackage is valid; the not_before is one hour in the past to allow for clock skew.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Exact lifetime bounds; when set, <see cref="Lifetime"/> and <see cref="Now"/> are ignored.</summary>
    public Lifetime? FixedLifetime { get; init; }

    /// <summary>The time the lifetime is counted from; now when null.</summary>
    public DateTimeOffset? Now { get; init; }

    public IReadOnlyList<Extension> LeafExtensions { get; init; } = [];

    public IReadOnlyList<Extension> Extensions { get; init; } = [];
}

/// <summary>Creating and validating KeyPackages and leaf nodes (RFC 9420 §7.3, §10).</summary>
public static class KeyPackages
{
    /// <summary>A client that speaks MLS 1.0 with suite 1 and basic credentials; default extensions and proposals need no listing.</summary>
    public static Capabilities DefaultCapabilities { get; } = new()
    {
        Versions = [ProtocolVersion.Mls10],
        CipherSuites = [CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519],
        Credentials = [CredentialType.Basic],
    };

    public static KeyPackageBundle Create(MlsCipherSuite suite, Credential credential, SignatureKeyPair signer, KeyPackageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(signer);
        options ??= new KeyPackageOptions();
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var lifetime = options.FixedLifetime ?? new Lifetime
        {
            NotBefore = (ulong)Math.Max(0, now.AddHours(-1).ToUnixTimeSeconds()),
            NotAfter = (ulong)now.Add(options.Lifetime).ToUnixTimeSeconds(),
        };

        var initKey = suite.GenerateHpkeKeyPair();
        var encryptionKey = suite.GenerateHpkeKeyPair();
        var leaf = SignLeaf(suite, new LeafNode
        {
            EncryptionKey = encryptionKey.PublicKey,
            SignatureKey = signer.PublicKey,
            Credential = credential,
            Capabilities = options.Capabilities ?? DefaultCapabilities,
            LeafNodeSource = LeafNodeSource.KeyPackage,
            Lifetime = lifetime,
            Extensions = options.LeafExtensions,
            Signature = ReadOnlyMemory<byte>.Empty,
        }, signer.PrivateKey, default, 0);

        var unsigned = new KeyPackage
        {
            CipherSuite = (CipherSuite)suite.Id,
            InitKey = initKey.PublicKey,
            LeafNode = leaf,
            Extensions = options.Extensions,
            Signature = ReadOnlyMemory<byte>.Empty,
        };
        var keyPackage = new KeyPackage
        {
            CipherSuite = unsigned.CipherSuite,
            InitKey = unsigned.InitKey,
            LeafNode = leaf,
            Extensions = unsigned.Extensions,
            Signature = suite.SignWithLabel(signer.PrivateKey, "KeyPackageTBS", unsigned.ToBeSignedBytes()),
        };
        return new KeyPackageBundle(keyPackage, initKey, encryptionKey, suite.MakeKeyPackageRef(keyPackage.ToBytes()));
    }

    /// <summary>Signs a leaf node: the given node's signature is replaced (LeafNodeTBS, RFC 9420 §7.2).</summary>
    public static LeafNode SignLeaf(MlsCipherSuite suite, LeafNode leaf, Secret signaturePrivateKey, ReadOnlySpan<byte> groupId, uint leafIndex)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(leaf);
        var tbs = leaf.ToBeSignedBytes(groupId, leafIndex);
        return leaf.WithSignature(suite.SignWithLabel(signaturePrivateKey, "LeafNodeTBS", tbs));
    }

    /// <summary>
    /// RFC 9420 §10.1: the checks a KeyPackage must pass before it is added to a group (version, suite,
    /// both signatures, leaf source and lifetime, capabilities, init key distinct from the leaf key).
    /// </summary>
    public static void Validate(MlsCipherSuite suite, KeyPackage keyPackage, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(keyPackage);

        if (keyPackage.Version != ProtocolVersion.Mls10)
        {
            throw new MlsValidationException("KeyPackage protocol version is not MLS 1.0.");
        }

        if ((ushort)keyPackage.CipherSuite != suite.Id)
        {
            throw new MlsValidationException("KeyPackage cipher suite differs from the group's.");
        }

        var leaf = keyPackage.LeafNode;
        if (leaf.LeafNodeSource != LeafNodeSource.KeyPackage)
        {
            throw new MlsValidationException("KeyPackage leaf node does not come from a key package.");
        }

        if (!suite.VerifyWithLabel(leaf.SignatureKey.Span, "KeyPackageTBS", keyPackage.ToBeSignedBytes(), keyPackage.Signature.Span))
        {
            throw new MlsValidationException("KeyPackage signature does not verify.");
        }

        ValidateLeafAlone(suite, leaf, default, 0, now);

        // RFC 9420 §10.1: init_key and the leaf's encryption_key MUST differ.
        if (keyPackage.InitKey.Span.SequenceEqual(leaf.EncryptionKey.Span))
        {
            throw new MlsValidationException("KeyPackage init key equals its leaf encryption key.");
        }

        if (keyPackage.InitKey.Length != suite.Hpke.PublicKeyLength)
        {
            throw new MlsValidationException("KeyPackage init key has the wrong length.");
        }
    }

    /// <summary>
    /// RFC 9420 §7.3, the checks that need only the leaf itself: signature (with group id and leaf index for
    /// update and commit sources), lifetime for key_package leaves, own capabilities covering the suite,
    /// version, credential type and every extension the leaf carries.
    /// </summary>
    public static void ValidateLeafAlone(MlsCipherSuite suite, LeafNode leaf, ReadOnlySpan<byte> groupId, uint leafIndex, DateTimeOffset? now)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(leaf);
        if (!suite.VerifyWithLabel(leaf.SignatureKey.Span, "LeafNodeTBS", leaf.ToBeSignedBytes(groupId, leafIndex), leaf.Signature.Span))
        {
            throw new MlsValidationException("Leaf node signature does not verify.");
        }

        if (leaf.LeafNodeSource == LeafNodeSource.KeyPackage && now is { } time)
        {
            var lifetime = leaf.Lifetime ?? throw new MlsValidationException("KeyPackage leaf without a lifetime.");
            var seconds = (ulong)Math.Max(0, time.ToUnixTimeSeconds());
            if (seconds < lifetime.NotBefore || seconds > lifetime.NotAfter)
            {
                throw new MlsValidationException("Leaf node lifetime does not include the current time.");
            }
        }

        var caps = leaf.Capabilities;
        if (!caps.CipherSuites.Contains((CipherSuite)suite.Id) || !caps.Versions.Contains(ProtocolVersion.Mls10))
        {
            throw new MlsValidationException("Leaf node does not support the group's version and cipher suite.");
        }

        if (!caps.Credentials.Contains(leaf.Credential.CredentialType))
        {
            throw new MlsValidationException("Leaf node does not support its own credential type.");
        }

        foreach (var extension in leaf.Extensions)
        {
            if (!IsDefaultExtension(extension.ExtensionType) && !caps.Extensions.Contains(extension.ExtensionType))
            {
                throw new MlsValidationException("Leaf node carries an extension its capabilities do not list.");
            }
        }

        if (leaf.EncryptionKey.Length != suite.Hpke.PublicKeyLength || leaf.SignatureKey.Length != SignatureKeyPair.PublicKeyLength)
        {
            throw new MlsValidationException("Leaf node key has the wrong length.");
        }
    }

    /// <summary>RFC 9420 §7.2: the extensions every client supports without listing them.</summary>
    public static bool IsDefaultExtension(ExtensionType type) =>
        type is ExtensionType.ApplicationId or ExtensionType.RatchetTree or ExtensionType.RequiredCapabilities
            or ExtensionType.ExternalPub or ExtensionType.ExternalSenders;

    /// <summary>RFC 9420 §7.2: the proposal types every client supports without listing them.</summary>
    public static bool IsDefaultProposal(ProposalType type) =>
        type is >= ProposalType.Add and <= ProposalType.GroupContextExtensions;
}
