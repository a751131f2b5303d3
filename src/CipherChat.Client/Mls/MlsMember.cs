using System.Security.Cryptography;
using System.Text;
using CipherChat.Client.Storage;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Client.Mls;

/// <summary>A failure of an MLS room operation that the user should see (one line, no secrets).</summary>
public sealed class MlsRoomException : ChatClientException
{
    public MlsRoomException()
    {
    }

    public MlsRoomException(string message)
        : base(message)
    {
    }

    public MlsRoomException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Proposals of other members wait in this epoch: commit them first (RFC 9420 §12.4), then send.</summary>
public sealed class MlsCommitNeededException : ChatClientException
{
    public MlsCommitNeededException()
    {
    }

    public MlsCommitNeededException(string message)
        : base(message)
    {
    }

    public MlsCommitNeededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// This device as an MLS member: a basic credential whose identity is the username (UTF-8), and the device's
/// Ed25519 key as the signature key (the same 32-byte seed the server authenticates at login).
/// </summary>
public sealed class MlsMember : IDisposable
{
    private MlsMember(string username, SignatureKeyPair signer)
    {
        Username = username;
        Signer = signer;
        Credential = Credential.Basic(Encoding.UTF8.GetBytes(username));
    }

    public string Username { get; }

    public SignatureKeyPair Signer { get; }

    public Credential Credential { get; }

    /// <summary>From the device key as stored (unlocked, protection "none"); the public key must match the seed.</summary>
    public static MlsMember FromDeviceKey(string username, StoredDeviceKey deviceKey)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        if (deviceKey.Protection != "none")
        {
            throw new ClientStateException("the device key must be unlocked before it is used in an MLS room");
        }

        var signer = FromSeed(deviceKey.PrivateKey);
        if (!CryptographicOperations.FixedTimeEquals(signer.PublicKey, deviceKey.PublicKey))
        {
            signer.Dispose();
            throw new ClientStateException("the stored device key does not match its public key: the client state is damaged");
        }

        return new MlsMember(Names.NormalizeUser(username), signer);
    }

    /// <summary>For tests and tools: a member with a fresh key.</summary>
    public static MlsMember Generate(string username) => new(Names.NormalizeUser(username), SignatureKeyPair.Generate());

    /// <summary>The username a credential names, or null when it is not a basic credential with a valid username.</summary>
    public static string? UsernameOf(Credential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        if (credential.CredentialType != CredentialType.Basic)
        {
            return null;
        }

        try
        {
            var text = new UTF8Encoding(false, true).GetString(credential.Identity.Span);
            return Names.TryNormalizeUser(text, out var name, out _) && name == text ? name : null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    public void Dispose() => Signer.Dispose();

    private static SignatureKeyPair FromSeed(ReadOnlySpan<byte> seed)
    {
        try
        {
            return SignatureKeyPair.FromPrivateKey(seed);
        }
        catch (CipherChat.Mls.MlsException ex)
        {
            throw new ClientStateException("the stored device key is damaged", ex);
        }
    }
}
