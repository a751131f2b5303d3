using System.Security.Cryptography;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Framing;

/// <summary>A PrivateMessage opened by <see cref="PrivateMessageProtection.Unprotect"/>; the signature is not yet verified.</summary>
public sealed record DecryptedContent(AuthenticatedContent Content, uint Generation);

/// <summary>
/// RFC 9420 §6.3 PrivateMessage: content encrypted with a secret-tree key (nonce XORed with a reuse
/// guard), zero padding, and sender data encrypted with a key derived from a sample of the ciphertext.
/// </summary>
public static class PrivateMessageProtection
{
    /// <summary>Upper bound on padding, so that a caller cannot ask for absurd messages.</summary>
    public const int MaxPaddingBlock = 4096;

    /// <summary>
    /// Encrypts signed member content. The plaintext is zero-padded to a multiple of
    /// <paramref name="paddingBlock"/> bytes (0 or 1: no padding).
    /// </summary>
    public static PrivateMessage Protect(
        MlsCipherSuite suite, AuthenticatedContent content, SecretTree secretTree, Secret senderDataSecret, int paddingBlock = 0)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(secretTree);
        ArgumentNullException.ThrowIfNull(senderDataSecret);
        if (content.WireFormat != WireFormat.PrivateMessage)
        {
            throw new MlsMisuseException("The content was signed for another wire format.");
        }

        var framed = content.Content;

        // RFC 9420 §6.3: only members send PrivateMessages.
        if (framed.Sender.SenderType != SenderType.Member)
        {
            throw new MlsMisuseException("Only a member sends private messages.");
        }

        if (paddingBlock is < 0 or > MaxPaddingBlock)
        {
            throw new MlsMisuseException("Padding block out of range.");
        }

        var plain = new PrivateMessageContent { Content = framed.Content, Auth = content.Auth };
        var unpaddedLength = plain.ToBytes().Length;
        var padding = paddingBlock > 1 ? (paddingBlock - (unpaddedLength % paddingBlock)) % paddingBlock : 0;
        var plaintext = new PrivateMessageContent { Content = framed.Content, Auth = content.Auth, PaddingLength = padding }.ToBytes();

        var message = new PrivateMessage
        {
            GroupId = framed.GroupId,
            Epoch = framed.Epoch,
            ContentType = framed.ContentType,
            AuthenticatedData = framed.AuthenticatedData,
            EncryptedSenderData = ReadOnlyMemory<byte>.Empty,
            Ciphertext = ReadOnlyMemory<byte>.Empty,
        };

        var kind = framed.ContentType == ContentType.Application ? RatchetKind.Application : RatchetKind.Handshake;
        var reuseGuard = RandomNumberGenerator.GetBytes(SenderData.ReuseGuardLength);
        byte[] ciphertext;
        uint generation;
        using (var key = secretTree.NextSendKey(new LeafIndex(framed.Sender.Index), kind))
        {
            generation = key.Generation;
            var nonce = NonceWithReuseGuard(key, reuseGuard);
            try
            {
                ciphertext = suite.AeadSeal(key.Key.Span, nonce, message.ContentAad(), plaintext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(nonce);
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }

        var senderData = new SenderData { LeafIndex = framed.Sender.Index, Generation = generation, ReuseGuard = reuseGuard }.ToBytes();
        var (sdKey, sdNonce) = SenderDataKeys.Derive(suite, senderDataSecret, ciphertext);
        byte[] encryptedSenderData;
        using (sdKey)
        using (sdNonce)
        {
            encryptedSenderData = suite.AeadSeal(sdKey.Span, sdNonce.Span, message.SenderDataAad(), senderData);
        }

        return new PrivateMessage
        {
            GroupId = message.GroupId,
            Epoch = message.Epoch,
            ContentType = message.ContentType,
            AuthenticatedData = message.AuthenticatedData,
            EncryptedSenderData = encryptedSenderData,
            Ciphertext = ciphertext,
        };
    }

    /// <summary>
    /// Decrypts the sender data, then the content. <paramref name="isMember"/> says whether a leaf index is an
    /// occupied leaf of the tree; it is asked before any ratchet key is touched, so a message naming a blank
    /// leaf costs no key. The caller still verifies the signature (<see cref="ContentSigning.Verify"/>).
    /// </summary>
    public static DecryptedContent Unprotect(
        MlsCipherSuite suite, PrivateMessage message, SecretTree secretTree, Secret senderDataSecret, Func<uint, bool> isMember)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(secretTree);
        ArgumentNullException.ThrowIfNull(senderDataSecret);
        ArgumentNullException.ThrowIfNull(isMember);

        var (sdKey, sdNonce) = SenderDataKeys.Derive(suite, senderDataSecret, message.Ciphertext.Span);
        SenderData senderData;
        using (sdKey)
        using (sdNonce)
        {
            var plain = suite.AeadOpen(sdKey.Span, sdNonce.Span, message.SenderDataAad(), message.EncryptedSenderData.Span);
            senderData = SenderData.FromBytes(plain);
        }

        // RFC 9420 §6.3.2: the leaf index MUST name a non-blank leaf of the tree.
        if (senderData.LeafIndex >= secretTree.LeafCount || !isMember(senderData.LeafIndex))
        {
            throw new MlsValidationException("Private message from a leaf that is not a member.");
        }

        var kind = message.ContentType == ContentType.Application ? RatchetKind.Application : RatchetKind.Handshake;
        // The key is consumed only if the content authenticates, so a forged message cannot burn a genuine one's key.
        var plaintext = secretTree.OpenWith(new LeafIndex(senderData.LeafIndex), kind, senderData.Generation, key =>
        {
            var nonce = NonceWithReuseGuard(key, senderData.ReuseGuard.Span);
            try
            {
                return suite.AeadOpen(key.Key.Span, nonce, message.ContentAad(), message.Ciphertext.Span);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(nonce);
            }
        });

        PrivateMessageContent content;
        try
        {
            content = PrivateMessageContent.Decode(plaintext, message.ContentType);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        var framed = new FramedContent
        {
            GroupId = message.GroupId,
            Epoch = message.Epoch,
            Sender = Sender.Member(senderData.LeafIndex),
            AuthenticatedData = message.AuthenticatedData,
            Content = content.Content,
        };
        var authenticated = new AuthenticatedContent { WireFormat = WireFormat.PrivateMessage, Content = framed, Auth = content.Auth };
        return new DecryptedContent(authenticated, senderData.Generation);
    }

    // RFC 9420 §6.3.1: the first four bytes of the ratchet nonce are XORed with the reuse guard.
    private static byte[] NonceWithReuseGuard(RatchetKey key, ReadOnlySpan<byte> reuseGuard)
    {
        var nonce = key.Nonce.ToArray();
        for (var i = 0; i < SenderData.ReuseGuardLength; i++)
        {
            nonce[i] ^= reuseGuard[i];
        }

        return nonce;
    }
}
