using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Framing;

/// <summary>RFC 9420 §6.2 PublicMessage: the membership tag over AuthenticatedContentTBM.</summary>
public static class PublicMessageProtection
{
    /// <summary>
    /// Wraps signed content as a PublicMessage; a member sender's message gets
    /// membership_tag = MAC(membership_key, AuthenticatedContentTBM).
    /// </summary>
    public static PublicMessage Protect(MlsCipherSuite suite, AuthenticatedContent content, GroupContext context, Secret? membershipKey)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(context);
        if (content.WireFormat != WireFormat.PublicMessage)
        {
            throw new MlsMisuseException("The content was signed for another wire format.");
        }

        if (content.Content.ContentType == ContentType.Application)
        {
            // RFC 9420 §6.2: application data MUST NOT be sent as a PublicMessage.
            throw new MlsMisuseException("Application data cannot be sent as a public message.");
        }

        var untagged = new PublicMessage { Content = content.Content, Auth = content.Auth, MembershipTag = null };
        if (content.Content.Sender.SenderType != SenderType.Member)
        {
            return untagged;
        }

        var key = membershipKey ?? throw new MlsMisuseException("A member's public message needs the membership key.");
        var tag = suite.Mac(key.Span, untagged.ToBeMacedBytes(context));
        return new PublicMessage { Content = content.Content, Auth = content.Auth, MembershipTag = tag };
    }

    /// <summary>
    /// Checks what a PublicMessage carries besides the signature: no application data, and for a member
    /// sender a valid membership tag (RFC 9420 §6.2). The signature is checked by the caller, which knows
    /// the sender's key (<see cref="ContentSigning.Verify"/>).
    /// </summary>
    public static AuthenticatedContent Unprotect(MlsCipherSuite suite, PublicMessage message, GroupContext context, Secret? membershipKey)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);

        // RFC 9420 §6.2: a PublicMessage carrying application data MUST be rejected.
        if (message.Content.ContentType == ContentType.Application)
        {
            throw new MlsValidationException("Public message carries application data.");
        }

        if (message.Content.Sender.SenderType == SenderType.Member)
        {
            var key = membershipKey ?? throw new MlsMisuseException("A member's public message is checked with the membership key.");
            var tag = message.MembershipTag ?? throw new MlsValidationException("Member public message without a membership tag.");

            // RFC 9420 §6.2: the recipient MUST verify the membership tag (constant-time comparison).
            if (!suite.VerifyMac(key.Span, message.ToBeMacedBytes(context), tag.Span))
            {
                throw new MlsValidationException("Membership tag does not verify.");
            }
        }

        return message.ToAuthenticatedContent();
    }
}
