using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace CipherChat.Client.Storage;

/// <summary>The passphrase does not open the protected data (or the data was altered).</summary>
public sealed class WrongPassphraseException : ChatClientException
{
    public WrongPassphraseException()
        : base("wrong passphrase: the secret keys could not be unlocked (or the client state was altered)")
    {
    }

    public WrongPassphraseException(string message)
        : base(message)
    {
    }

    public WrongPassphraseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Argon2id cost; stored in every blob so it can be raised later without breaking old blobs.</summary>
public sealed record Argon2idSettings(int MemoryKiB, int Passes)
{
    /// <summary>64 MiB, 3 passes: about a quarter of a second on a laptop, once per command.</summary>
    public static Argon2idSettings Default { get; } = new(64 * 1024, 3);

    /// <summary>Largest cost accepted from a blob, so damaged or hostile state cannot make us allocate gigabytes.</summary>
    public const int MaxMemoryKiB = 1024 * 1024;

    public const int MaxPasses = 16;

    public const int MinMemoryKiB = 8;

    internal bool IsAcceptable => MemoryKiB is >= MinMemoryKiB and <= MaxMemoryKiB && Passes is >= 1 and <= MaxPasses;
}

/// <summary>
/// Secret bytes encrypted at rest with a passphrase. A blob is self-describing and versioned:
/// <c>"CCPP" | version 1 | kdf 1 (Argon2id) | memory KiB (u32) | passes (u32) | salt (16) | aead 1 (AES-256-GCM) | nonce (12) | ciphertext | tag (16)</c>,
/// integers big-endian. The AES-256-GCM key is Argon2id(passphrase, salt); the associated data is every byte
/// before the ciphertext followed by a purpose label, so a blob cannot be moved to another use or have its
/// header changed unnoticed.
/// </summary>
public sealed class PassphraseKey : IDisposable
{
    public const byte FormatVersion = 1;
    public const int SaltLength = 16;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    /// <summary>Largest blob opened (group states are the largest secrets kept).</summary>
    public const int MaxBlobLength = 64 * 1024 * 1024;

    private const byte KdfArgon2id = 1;
    private const byte AeadAes256Gcm = 1;
    private const int KeyLength = 32;
    private const int HeaderLength = 4 + 1 + 1 + 4 + 4 + SaltLength + 1 + NonceLength;

    private static ReadOnlySpan<byte> Magic => "CCPP"u8;

    private readonly byte[] _passphrase;
    private readonly byte[] _salt;
    private readonly Argon2idSettings _settings;
    private readonly byte[] _key;
    private readonly Dictionary<string, byte[]> _otherKeys = new(StringComparer.Ordinal);
    private bool _disposed;

    private PassphraseKey(byte[] passphrase, byte[] salt, Argon2idSettings settings)
    {
        _passphrase = passphrase;
        _salt = salt;
        _settings = settings;
        _key = Derive(passphrase, salt, settings);
    }

    /// <summary>The environment variable that holds the passphrase for unattended use.</summary>
    public const string EnvironmentVariable = "CIPHERCHAT_PASSPHRASE";

    /// <summary>
    /// A key from <paramref name="passphrase"/> with a fresh random salt; Argon2id runs once here and the key
    /// protects any number of blobs. Opening a blob made with another salt derives that key once more.
    /// </summary>
    public static PassphraseKey Create(string passphrase, Argon2idSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        if (passphrase.Length == 0)
        {
            throw new ChatClientException("the passphrase must not be empty");
        }

        settings ??= Argon2idSettings.Default;
        if (!settings.IsAcceptable)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "Argon2id settings out of range.");
        }

        return new PassphraseKey(Encoding.UTF8.GetBytes(passphrase), RandomNumberGenerator.GetBytes(SaltLength), settings);
    }

    /// <summary>The passphrase from <see cref="EnvironmentVariable"/>, else from <paramref name="prompt"/>; null when neither gives one.</summary>
    public static string? ReadPassphrase(Func<string?>? prompt)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        var typed = prompt?.Invoke();
        return string.IsNullOrEmpty(typed) ? null : typed;
    }

    /// <summary>True when <paramref name="data"/> starts like a blob made here.</summary>
    public static bool IsProtected(ReadOnlySpan<byte> data) => data.Length >= Magic.Length && data[..Magic.Length].SequenceEqual(Magic);

    /// <summary>Encrypts <paramref name="plaintext"/> for <paramref name="purpose"/> (a short fixed label such as "device-key").</summary>
    public byte[] Protect(ReadOnlySpan<byte> plaintext, string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (plaintext.Length > MaxBlobLength - HeaderLength - TagLength)
        {
            throw new ArgumentException("Too much data to protect.", nameof(plaintext));
        }

        var blob = new byte[HeaderLength + plaintext.Length + TagLength];
        var header = blob.AsSpan(0, HeaderLength);
        Magic.CopyTo(header);
        header[4] = FormatVersion;
        header[5] = KdfArgon2id;
        BinaryPrimitives.WriteUInt32BigEndian(header[6..], (uint)_settings.MemoryKiB);
        BinaryPrimitives.WriteUInt32BigEndian(header[10..], (uint)_settings.Passes);
        _salt.CopyTo(header[14..]);
        header[14 + SaltLength] = AeadAes256Gcm;
        var nonce = header.Slice(15 + SaltLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);

        using var aes = new AesGcm(_key, TagLength);
        aes.Encrypt(nonce, plaintext, blob.AsSpan(HeaderLength, plaintext.Length), blob.AsSpan(HeaderLength + plaintext.Length), AssociatedData(header, purpose));
        return blob;
    }

    /// <summary>
    /// Decrypts a blob made by <see cref="Protect"/> for the same purpose. A wrong passphrase, another purpose or
    /// altered bytes throw <see cref="WrongPassphraseException"/>; bytes that are not such a blob (or an unknown
    /// version or cost out of range) throw <see cref="ClientStateException"/>.
    /// </summary>
    public byte[] Unprotect(ReadOnlySpan<byte> blob, string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsProtected(blob))
        {
            throw new ClientStateException("the protected secret is damaged (not a passphrase-protected blob)");
        }

        if (blob.Length < HeaderLength + TagLength || blob.Length > MaxBlobLength)
        {
            throw new ClientStateException("the protected secret is damaged (bad length)");
        }

        var header = blob[..HeaderLength];
        if (header[4] != FormatVersion)
        {
            throw new ClientStateException($"the protected secret uses format version {header[4]}, which this cipherchat does not know: upgrade cipherchat");
        }

        if (header[5] != KdfArgon2id || header[14 + SaltLength] != AeadAes256Gcm)
        {
            throw new ClientStateException("the protected secret uses an algorithm this cipherchat does not know");
        }

        var memory = BinaryPrimitives.ReadUInt32BigEndian(header[6..]);
        var passes = BinaryPrimitives.ReadUInt32BigEndian(header[10..]);
        if (memory > Argon2idSettings.MaxMemoryKiB || passes > Argon2idSettings.MaxPasses)
        {
            throw new ClientStateException("the protected secret asks for an unreasonable key-derivation cost");
        }

        var settings = new Argon2idSettings((int)memory, (int)passes);
        if (!settings.IsAcceptable)
        {
            throw new ClientStateException("the protected secret asks for an unreasonable key-derivation cost");
        }

        var salt = header.Slice(14, SaltLength);
        var key = KeyFor(salt, settings);
        var nonce = header.Slice(15 + SaltLength, NonceLength);
        var ciphertext = blob[HeaderLength..^TagLength];
        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(key, TagLength);
            aes.Decrypt(nonce, ciphertext, blob[^TagLength..], plaintext, AssociatedData(header, purpose));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new WrongPassphraseException();
        }
    }

    public override string ToString() => "PassphraseKey(***)";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_passphrase);
        CryptographicOperations.ZeroMemory(_key);
        foreach (var other in _otherKeys.Values)
        {
            CryptographicOperations.ZeroMemory(other);
        }

        _otherKeys.Clear();
    }

    private byte[] KeyFor(ReadOnlySpan<byte> salt, Argon2idSettings settings)
    {
        if (salt.SequenceEqual(_salt) && settings == _settings)
        {
            return _key;
        }

        var id = Convert.ToHexString(salt) + "/" + settings.MemoryKiB + "/" + settings.Passes;
        if (!_otherKeys.TryGetValue(id, out var key))
        {
            key = Derive(_passphrase, salt.ToArray(), settings);
            _otherKeys[id] = key;
        }

        return key;
    }

    private static byte[] Derive(byte[] passphrase, byte[] salt, Argon2idSettings settings)
    {
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = settings.MemoryKiB,
            NumberOfPasses = settings.Passes,
        });
        return algorithm.DeriveBytes(passphrase, salt, KeyLength);
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, string purpose)
    {
        var label = Encoding.UTF8.GetBytes(purpose);
        var data = new byte[header.Length + label.Length];
        header.CopyTo(data);
        label.CopyTo(data, header.Length);
        return data;
    }
}

/// <summary>
/// The device key at rest with a passphrase: the <see cref="StoredDeviceKey"/>'s private key becomes a
/// <see cref="PassphraseKey"/> blob and its protection <see cref="Protection"/>. The unlocked form has protection
/// "none", which is what <c>DeviceIdentity.FromStored</c> loads.
/// </summary>
public static class DeviceKeyProtection
{
    /// <summary>The value of <see cref="StoredDeviceKey.Protection"/> for a passphrase-protected key.</summary>
    public const string Protection = "argon2id-aes256gcm-v1";

    public const string Purpose = "CipherChat device key v1";

    public static StoredDeviceKey Lock(StoredDeviceKey plain, PassphraseKey key)
    {
        ArgumentNullException.ThrowIfNull(plain);
        ArgumentNullException.ThrowIfNull(key);
        if (plain.Protection != "none")
        {
            throw new ClientStateException($"the device key is already protected with '{plain.Protection}'");
        }

        // The public key is bound too, so a blob cannot be paired with another public key.
        return plain with { PrivateKey = key.Protect([.. plain.PublicKey, .. plain.PrivateKey], Purpose), Protection = Protection, ProtectionParameters = null };
    }

    /// <summary>The unlocked key; a stored key with protection "none" is returned as it is.</summary>
    public static StoredDeviceKey Unlock(StoredDeviceKey stored, PassphraseKey? key)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Protection == "none")
        {
            return stored;
        }

        if (stored.Protection != Protection)
        {
            throw new ClientStateException($"the stored device key is protected with '{stored.Protection}', which this cipherchat cannot unlock");
        }

        if (key is null)
        {
            throw new ClientStateException($"the device key is protected by a passphrase: set {PassphraseKey.EnvironmentVariable} or type it when asked");
        }

        var opened = key.Unprotect(stored.PrivateKey, Purpose);
        if (opened.Length <= stored.PublicKey.Length || !opened.AsSpan(0, stored.PublicKey.Length).SequenceEqual(stored.PublicKey))
        {
            CryptographicOperations.ZeroMemory(opened);
            throw new ClientStateException("the stored device key does not match its public key: the client state is damaged");
        }

        var privateKey = opened[stored.PublicKey.Length..];
        CryptographicOperations.ZeroMemory(opened);
        return stored with { PrivateKey = privateKey, Protection = "none", ProtectionParameters = null };
    }
}
