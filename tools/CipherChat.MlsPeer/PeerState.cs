using System.Text;
using System.Text.Json.Nodes;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.MlsPeer;

/// <summary>The peer's identity.</summary>
internal sealed record PeerIdentity(string Name, byte[] SignaturePrivate);

/// <summary>
/// The state directory, in this peer's own format: identity.json, keypackage_private.json (until used) and
/// group.json (the MlsGroup's saved state). A test peer: the keys are stored unencrypted.
/// </summary>
internal static class PeerState
{
    public static MlsGroupOptions Options(WireFormat? handshake) => new()
    {
        HandshakeWireFormat = handshake ?? WireFormat.PrivateMessage,
        PastEpochsKept = 4,
    };

    public static PeerIdentity LoadOrCreateIdentity(string dir, string? name)
    {
        var file = Path.Combine(dir, "identity.json");
        if (File.Exists(file))
        {
            var identity = LoadIdentity(dir);
            if (name is not null && name != identity.Name)
            {
                throw new PeerException("state dir already belongs to " + identity.Name);
            }

            return identity;
        }

        if (name is null)
        {
            throw new PeerException("--name is required");
        }

        using var pair = SignatureKeyPair.Generate();
        PeerFiles.WriteJson(file, new JsonObject
        {
            ["name"] = name,
            ["identity_hex"] = PeerFiles.Hex(Encoding.UTF8.GetBytes(name)),
            ["credential_type"] = "basic",
            ["signature_scheme"] = "ed25519",
            ["signature_public_hex"] = PeerFiles.Hex(pair.PublicKey),
            ["signature_private_hex"] = PeerFiles.Hex(pair.PrivateKey.Span),
        });
        return LoadIdentity(dir);
    }

    public static PeerIdentity LoadIdentity(string dir)
    {
        var file = Path.Combine(dir, "identity.json");
        if (!File.Exists(file))
        {
            throw new PeerException($"{file} missing; run 'keypackage --name NAME --state {dir}' first");
        }

        var json = PeerFiles.ReadJson(file);
        return new PeerIdentity(
            json["name"]?.GetValue<string>() ?? throw new PeerException("identity.json has no name"),
            PeerFiles.FromHex(json["signature_private_hex"]?.GetValue<string>() ?? ""));
    }

    public static void SaveKeyPackagePrivate(string dir, KeyPackageBundle bundle) =>
        PeerFiles.WriteJson(Path.Combine(dir, "keypackage_private.json"), new JsonObject
        {
            ["keypackage_hex"] = PeerFiles.Hex(new MlsMessage(bundle.KeyPackage).ToBytes()),
            ["keypackage_ref_hex"] = PeerFiles.Hex(bundle.Reference),
            ["init_private_hex"] = PeerFiles.Hex(bundle.InitKey.PrivateKey.Span),
            ["hpke_private_hex"] = PeerFiles.Hex(bundle.EncryptionKey.PrivateKey.Span),
        });

    public static KeyPackageBundle LoadKeyPackagePrivate(string dir)
    {
        var file = Path.Combine(dir, "keypackage_private.json");
        if (!File.Exists(file))
        {
            throw new PeerException($"{file} missing; run 'keypackage' first");
        }

        var json = PeerFiles.ReadJson(file);
        var message = MlsMessage.FromBytes(PeerFiles.FromHex(json["keypackage_hex"]?.GetValue<string>() ?? ""));
        var keyPackage = message.Body as KeyPackage ?? throw new PeerException("keypackage_private.json holds no key package");
        return KeyPackageBundle.FromPrivateKeys(
            keyPackage,
            PeerFiles.FromHex(json["init_private_hex"]?.GetValue<string>() ?? ""),
            PeerFiles.FromHex(json["hpke_private_hex"]?.GetValue<string>() ?? ""));
    }

    public static MlsGroup LoadGroup(string dir, WireFormat? handshake)
    {
        var file = Path.Combine(dir, "group.json");
        if (!File.Exists(file))
        {
            throw new PeerException($"{file} missing; create or join a group first");
        }

        var json = PeerFiles.ReadJson(file);
        return MlsGroup.Restore(PeerFiles.FromHex(json["state_hex"]?.GetValue<string>() ?? ""), Options(handshake));
    }

    public static void SaveGroup(string dir, MlsGroup group) =>
        PeerFiles.WriteJson(Path.Combine(dir, "group.json"), new JsonObject
        {
            ["format"] = "CipherChat MlsGroup.Save (implementation-private)",
            ["group_id_hex"] = PeerFiles.Hex(group.GroupId.Span),
            ["epoch"] = group.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["own_leaf_index"] = group.OwnLeafIndex.Value,
            ["state_hex"] = PeerFiles.Hex(group.Save()),
        });

    /// <summary>full: MLS 1.0, suites 1–7, basic and x509; minimal: suite 1 and basic; grease: full plus GREASE values (RFC 9420 §13.5).</summary>
    public static Capabilities Capabilities(string kind)
    {
        var full = new Capabilities
        {
            Versions = [ProtocolVersion.Mls10],
            CipherSuites = [.. Enumerable.Range(1, 7).Select(i => (CipherSuite)i)],
            Credentials = [CredentialType.Basic, CredentialType.X509],
        };
        return kind switch
        {
            "full" => full,
            "minimal" => KeyPackages.DefaultCapabilities,
            "grease" => new Capabilities
            {
                Versions = full.Versions,
                CipherSuites = [.. full.CipherSuites, (CipherSuite)Grease()],
                Extensions = [(ExtensionType)Grease()],
                Proposals = [(ProposalType)Grease()],
                Credentials = [.. full.Credentials, (CredentialType)Grease()],
            },
            _ => throw new PeerException($"unknown --caps {kind} (full|minimal|grease)"),
        };
    }

    // One of the GREASE values 0x0A0A, 0x1A1A, ..., 0xEAEA.
    private static ushort Grease()
    {
        var n = System.Security.Cryptography.RandomNumberGenerator.GetInt32(15);
        return (ushort)((n << 12) | 0x0A00 | (n << 4) | 0x0A);
    }
}
