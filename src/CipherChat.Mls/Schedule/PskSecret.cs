using System.Buffers.Binary;
using System.Security.Cryptography;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Schedule;

/// <summary>One PSK injected into an epoch: its PreSharedKeyID and its value.</summary>
public sealed record PskInput(PreSharedKeyId Id, Secret Psk);

/// <summary>RFC 9420 §8.4: the psk_secret that combines the PSKs of a Commit or Welcome.</summary>
public static class PskSecret
{
    /// <summary>RFC 9420 §8.4: each injection of a PSK MUST use a fresh random psk_nonce of KDF.Nh bytes.</summary>
    public static byte[] NewNonce(MlsCipherSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        return RandomNumberGenerator.GetBytes(suite.HashLength);
    }

    /// <summary>
    /// Chains the PSKs in the order they are listed (RFC 9420 §8.4: the Commit and GroupSecrets MUST list
    /// them in the same order). With no PSKs the result is the all-zero value.
    /// </summary>
    public static Secret Compute(MlsCipherSuite suite, IReadOnlyList<PskInput> psks)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(psks);

        // PSKLabel.index and PSKLabel.count are uint16.
        if (psks.Count > ushort.MaxValue)
        {
            throw new MlsValidationException("Too many pre-shared keys.");
        }

        var pskSecret = Secret.Zero(suite.HashLength);
        using var zeroSalt = Secret.Zero(suite.HashLength);
        for (var i = 0; i < psks.Count; i++)
        {
            var input = psks[i] ?? throw new ArgumentException("Null PSK entry.", nameof(psks));
            ArgumentNullException.ThrowIfNull(input.Id);
            ArgumentNullException.ThrowIfNull(input.Psk);

            // RFC 9420 §12.1.4: a PreSharedKeyID whose psk_nonce is not KDF.Nh bytes long is invalid.
            if (input.Id.PskNonce.Length != suite.HashLength)
            {
                throw new MlsValidationException("PSK nonce length differs from the hash length.");
            }

            var id = input.Id.ToBytes();
            var label = new byte[id.Length + 4];
            id.CopyTo(label, 0);
            BinaryPrimitives.WriteUInt16BigEndian(label.AsSpan(id.Length), (ushort)i);
            BinaryPrimitives.WriteUInt16BigEndian(label.AsSpan(id.Length + 2), (ushort)psks.Count);

            using var extracted = suite.Extract(zeroSalt.Span, input.Psk.Span);
            using var pskInput = suite.ExpandWithLabel(extracted, "derived psk", label, suite.HashLength);
            var next = suite.Extract(pskInput.Span, pskSecret.Span);
            pskSecret.Dispose();
            pskSecret = next;
        }

        return pskSecret;
    }
}
