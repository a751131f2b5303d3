using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Framing;

/// <summary>RFC 9420 §6.1: signing and verifying FramedContent as AuthenticatedContent.</summary>
public static class ContentSigning
{
    private const string Label = "FramedContentTBS";

    /// <summary>
    /// SignWithLabel(signature_key, "FramedContentTBS", FramedContentTBS). <paramref name="context"/> is the
    /// GroupContext of the epoch the content belongs to (required for member senders).
    /// </summary>
    public static byte[] Sign(MlsCipherSuite suite, WireFormat wireFormat, FramedContent content, GroupContext? context, Secret signaturePrivateKey)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(content);
        CheckWireFormat(wireFormat, content.ContentType);
        return suite.SignWithLabel(signaturePrivateKey, Label, content.ToBeSignedBytes(wireFormat, context));
    }

    /// <summary>
    /// Signs content that is not a Commit and wraps it as AuthenticatedContent. A Commit needs its
    /// confirmation tag, which depends on the signature: build it with <see cref="Sign"/>.
    /// </summary>
    public static AuthenticatedContent SignNonCommit(
        MlsCipherSuite suite, WireFormat wireFormat, FramedContent content, GroupContext? context, Secret signaturePrivateKey)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.ContentType == ContentType.Commit)
        {
            throw new MlsMisuseException("A commit is signed together with its confirmation tag.");
        }

        var signature = Sign(suite, wireFormat, content, context, signaturePrivateKey);
        return new AuthenticatedContent
        {
            WireFormat = wireFormat,
            Content = content,
            Auth = new FramedContentAuthData { Signature = signature },
        };
    }

    /// <summary>RFC 9420 §6.1: the receiver MUST verify the signature with the sender's key.</summary>
    public static void Verify(MlsCipherSuite suite, AuthenticatedContent content, GroupContext? context, ReadOnlySpan<byte> signaturePublicKey)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(content);
        var tbs = content.ToBeSignedBytes(context);
        if (!suite.VerifyWithLabel(signaturePublicKey, Label, tbs, content.Auth.Signature.Span))
        {
            throw new MlsValidationException("Content signature does not verify.");
        }
    }

    private static void CheckWireFormat(WireFormat wireFormat, ContentType contentType)
    {
        if (wireFormat is not (WireFormat.PublicMessage or WireFormat.PrivateMessage))
        {
            throw new MlsMisuseException("Content travels as a public or private message.");
        }

        // RFC 9420 §6.2: application data is never sent as a PublicMessage.
        if (wireFormat == WireFormat.PublicMessage && contentType == ContentType.Application)
        {
            throw new MlsMisuseException("Application data cannot be sent as a public message.");
        }
    }
}
