using System.Buffers;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Schedule;

/// <summary>RFC 9420 §8.2 transcript hashes and the §6.1 confirmation tag.</summary>
public static class TranscriptHash
{
    /// <summary>
    /// The ConfirmedTranscriptHashInput of a Commit: wire_format, FramedContent and signature of its
    /// AuthenticatedContent.
    /// </summary>
    public static byte[] ConfirmedInput(AuthenticatedContent content)
    {
        ArgumentNullException.ThrowIfNull(content);

        // RFC 9420 §8.2: only a Commit updates the transcript (content_type == commit).
        if (content.Content.Content.ContentType != ContentType.Commit)
        {
            throw new MlsValidationException("Only a Commit updates the transcript hash.");
        }

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        writer.WriteUInt16((ushort)content.WireFormat);
        content.Content.Encode(writer);
        writer.WriteVector(content.Auth.Signature.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>confirmed_transcript_hash_[n] = Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n]).</summary>
    public static byte[] Confirmed(MlsCipherSuite suite, ReadOnlySpan<byte> interimBefore, ReadOnlySpan<byte> confirmedInput)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var data = new byte[interimBefore.Length + confirmedInput.Length];
        interimBefore.CopyTo(data);
        confirmedInput.CopyTo(data.AsSpan(interimBefore.Length));
        return suite.Hash(data);
    }

    /// <inheritdoc cref="Confirmed(MlsCipherSuite, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public static byte[] Confirmed(MlsCipherSuite suite, ReadOnlySpan<byte> interimBefore, AuthenticatedContent commit) =>
        Confirmed(suite, interimBefore, ConfirmedInput(commit));

    /// <summary>interim_transcript_hash_[n] = Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n]).</summary>
    public static byte[] Interim(MlsCipherSuite suite, ReadOnlySpan<byte> confirmed, ReadOnlySpan<byte> confirmationTag)
    {
        ArgumentNullException.ThrowIfNull(suite);

        // InterimTranscriptHashInput is struct { MAC confirmation_tag; } with MAC = opaque<V>.
        var data = new byte[confirmed.Length + TlsBytes.VectorSize(confirmationTag.Length)];
        confirmed.CopyTo(data);
        TlsBytes.WriteVector(data.AsSpan(confirmed.Length), confirmationTag);
        return suite.Hash(data);
    }

    /// <summary>RFC 9420 §6.1: confirmation_tag = MAC(confirmation_key, GroupContext.confirmed_transcript_hash).</summary>
    public static byte[] ConfirmationTag(MlsCipherSuite suite, Secret confirmationKey, ReadOnlySpan<byte> confirmedTranscriptHash)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(confirmationKey);
        return suite.Mac(confirmationKey.Span, confirmedTranscriptHash);
    }

    /// <summary>
    /// RFC 9420 §6.1: a receiver MUST verify the confirmation_tag; compared in constant time.
    /// </summary>
    public static bool VerifyConfirmationTag(
        MlsCipherSuite suite, Secret confirmationKey, ReadOnlySpan<byte> confirmedTranscriptHash, ReadOnlySpan<byte> confirmationTag)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(confirmationKey);
        return suite.VerifyMac(confirmationKey.Span, confirmedTranscriptHash, confirmationTag);
    }
}
