using System.Security.Cryptography;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.Server.Storage;

namespace CipherChat.Server.Connections;

/// <summary>
/// What the delivery service checks of MLS bytes. It decodes, and verifies only what is cheap and
/// needs no group state: the server holds no group secrets, and clients validate everything again.
/// </summary>
internal static class MlsChecks
{
    /// <summary>Largest KeyPackage the key directory stores.</summary>
    public const int MaxKeyPackageBytes = 16 * 1024;

    /// <summary>Most KeyPackages in one upload, and most one-time KeyPackages stored per user.</summary>
    public const int MaxKeyPackages = 100;

    /// <summary>A fetch that leaves fewer one-time KeyPackages than this tells their owner (KeyPackagesLow).</summary>
    public const int LowKeyPackages = 5;

    /// <summary>Most users one commit may add, and most it may remove.</summary>
    public const int MaxMembershipChanges = 100;

    public const int MinGroupIdBytes = 16;
    public const int MaxGroupIdBytes = 32;

    /// <summary>Room of a frame that carries a commit or a Welcome, beyond the MLS bytes themselves.</summary>
    public const int EnvelopeReserveBytes = 1024;

    /// <summary>
    /// A KeyPackage of <paramref name="username"/> for cipher suite 1 whose basic credential is the
    /// username (UTF-8) and whose leaf signature key is the user's registered device key, valid per
    /// RFC 9420 §10.1 at <paramref name="now"/>; null when it is not.
    /// </summary>
    public static NewKeyPackage? ValidateKeyPackage(ReadOnlySpan<byte> data, string username, ReadOnlySpan<byte> devicePublicKey, DateTimeOffset now)
    {
        if (data.Length is 0 or > MaxKeyPackageBytes)
        {
            return null;
        }

        try
        {
            var keyPackage = KeyPackage.FromBytes(data);
            var suite = MlsCipherSuite.Default;
            if ((ushort)keyPackage.CipherSuite != suite.Id)
            {
                return null;
            }

            var credential = keyPackage.LeafNode.Credential;
            if (credential.CredentialType != CredentialType.Basic
                || !credential.Identity.Span.SequenceEqual(System.Text.Encoding.UTF8.GetBytes(username))
                || !keyPackage.LeafNode.SignatureKey.Span.SequenceEqual(devicePublicKey))
            {
                return null;
            }

            // Two Ed25519 verifications: cheap, and they keep forged KeyPackages out of the directory.
            KeyPackages.Validate(suite, keyPackage, now);
            var bytes = data.ToArray();
            return new NewKeyPackage(suite.MakeKeyPackageRef(bytes), bytes);
        }
        catch (MlsException)
        {
            return null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="data"/> is an MLSMessage carrying a PublicMessage commit for <paramref name="epoch"/>.</summary>
    public static bool IsCommitFor(ReadOnlySpan<byte> data, ulong epoch)
    {
        try
        {
            return MlsMessage.FromBytes(data).Body is PublicMessage { Content: { ContentType: ContentType.Commit } content } && content.Epoch == epoch;
        }
        catch (MlsException)
        {
            return false;
        }
    }
}
