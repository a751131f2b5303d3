using System.Security.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// An HPKE encryption context (RFC 9180 §5.2): a sender seals, a recipient opens, both export.
/// Sequence numbers advance with each successful Seal or Open.
/// </summary>
public sealed class HpkeContext : IDisposable
{
    private const int TagLength = 16;

    private readonly Hpke _hpke;
    private readonly Secret _key;
    private readonly byte[] _baseNonce;
    private readonly Secret _exporterSecret;
    private HpkeScheduleTrace? _trace;
    private bool _disposed;

    internal HpkeContext(Hpke hpke, HpkeRole role, Secret key, byte[] baseNonce, Secret exporterSecret, HpkeScheduleTrace? trace)
    {
        _hpke = hpke;
        Role = role;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
        _trace = trace;
    }

    public HpkeRole Role { get; }

    /// <summary>The sequence number the next Seal or Open will use.</summary>
    public ulong SequenceNumber { get; private set; }

    internal Secret Key => _key;

    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;

    internal Secret ExporterSecret => _exporterSecret;

    internal HpkeScheduleTrace? Trace => _trace;

    /// <summary>RFC 9180 §5.2 ContextS.Seal.</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        EnsureUsable(HpkeRole.Sender);
        var nonce = ComputeNonce();
        var output = new byte[plaintext.Length + TagLength];
        var ciphertext = output.AsSpan(0, plaintext.Length);
        var tag = output.AsSpan(plaintext.Length);
        switch (_hpke.Aead)
        {
            case HpkeAeadId.Aes128Gcm:
                using (var aes = new AesGcm(_key.Span, TagLength))
                {
                    aes.Encrypt(nonce, plaintext, ciphertext, tag, aad);
                }

                break;
            default:
                using (var chacha = new ChaCha20Poly1305(_key.Span))
                {
                    chacha.Encrypt(nonce, plaintext, ciphertext, tag, aad);
                }

                break;
        }

        IncrementSequence();
        return output;
    }

    /// <summary>RFC 9180 §5.2 ContextR.Open; throws <see cref="MlsValidationException"/> if the ciphertext does not authenticate.</summary>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        EnsureUsable(HpkeRole.Recipient);
        if (ciphertext.Length < TagLength)
        {
            throw new MlsValidationException("HPKE ciphertext is shorter than the authentication tag.");
        }

        var nonce = ComputeNonce();
        var plaintext = new byte[ciphertext.Length - TagLength];
        var body = ciphertext[..plaintext.Length];
        var tag = ciphertext[plaintext.Length..];
        try
        {
            switch (_hpke.Aead)
            {
                case HpkeAeadId.Aes128Gcm:
                    using (var aes = new AesGcm(_key.Span, TagLength))
                    {
                        aes.Decrypt(nonce, body, tag, plaintext, aad);
                    }

                    break;
                default:
                    using (var chacha = new ChaCha20Poly1305(_key.Span))
                    {
                        chacha.Decrypt(nonce, body, tag, plaintext, aad);
                    }

                    break;
            }
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new MlsValidationException("HPKE ciphertext failed authentication.");
        }

        // RFC 9180 §5.2: the sequence number advances only after a successful Open.
        IncrementSequence();
        return plaintext;
    }

    /// <summary>RFC 9180 §5.3 Export: a secret of <paramref name="length"/> bytes bound to <paramref name="exporterContext"/>.</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // RFC 9180 §5.3: L MUST NOT exceed 255 * Nh.
        if (length is < 0 or > Crypto.Kdf.MaxOutputLength)
        {
            throw new MlsMisuseException("HPKE export length out of range.");
        }

        return _hpke.LabeledExpand(_exporterSecret.Span, "sec"u8, exporterContext, length);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _key.Dispose();
        _exporterSecret.Dispose();
        CryptographicOperations.ZeroMemory(_baseNonce);
        if (_trace is not null)
        {
            CryptographicOperations.ZeroMemory(_trace.SharedSecret);
            CryptographicOperations.ZeroMemory(_trace.Secret);
            _trace = null;
        }
    }

    private void EnsureUsable(HpkeRole role)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_hpke.Aead == HpkeAeadId.ExportOnly)
        {
            throw new MlsMisuseException("An export-only HPKE context cannot seal or open.");
        }

        if (Role != role)
        {
            throw new MlsMisuseException(role == HpkeRole.Sender ? "Only a sender context can seal." : "Only a recipient context can open.");
        }
    }

    // RFC 9180 §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn).
    internal byte[] ComputeNonce()
    {
        var nonce = (byte[])_baseNonce.Clone();
        var seq = SequenceNumber;
        for (var i = nonce.Length - 1; i >= 0 && seq != 0; i--)
        {
            nonce[i] ^= (byte)seq;
            seq >>= 8;
        }

        return nonce;
    }

    // RFC 9180 §5.2: the sequence number MUST NOT wrap; a 64-bit counter stops well before 2^96.
    private void IncrementSequence()
    {
        if (SequenceNumber == ulong.MaxValue)
        {
            throw new MlsMisuseException("HPKE sequence number exhausted.");
        }

        SequenceNumber++;
    }
}
