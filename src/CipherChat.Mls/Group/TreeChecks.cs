using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;

namespace CipherChat.Mls.Group;

/// <summary>
/// RFC 9420 §7.3 checks of a leaf against the group as the group applies them to proposals. Checks of a whole
/// received tree are in <see cref="RatchetTreeValidator"/>.
/// </summary>
internal static class TreeChecks
{
    /// <summary>
    /// RFC 9420 §7.3 checks of a leaf against the group: it supports the required capabilities and every
    /// credential type in use, and every member supports its credential type.
    /// </summary>
    public static void LeafFitsGroup(RatchetTree tree, LeafNode leaf, IReadOnlyList<Extension> groupExtensions)
    {
        var caps = leaf.Capabilities;
        foreach (var extension in groupExtensions)
        {
            if (extension.ExtensionType == ExtensionType.RequiredCapabilities)
            {
                var required = RequiredCapabilities.FromBytes(extension.ExtensionData.Span);
                if (required.ExtensionTypes.Any(t => !KeyPackages.IsDefaultExtension(t) && !caps.Extensions.Contains(t))
                    || required.ProposalTypes.Any(t => !KeyPackages.IsDefaultProposal(t) && !caps.Proposals.Contains(t))
                    || required.CredentialTypes.Any(t => !caps.Credentials.Contains(t)))
                {
                    throw new MlsValidationException("Leaf does not support the group's required capabilities.");
                }
            }
            else if (!KeyPackages.IsDefaultExtension(extension.ExtensionType) && !caps.Extensions.Contains(extension.ExtensionType))
            {
                throw new MlsValidationException("Leaf does not support a group context extension.");
            }
        }

        foreach (var type in tree.CredentialTypesInUse)
        {
            if (!caps.Credentials.Contains(type))
            {
                throw new MlsValidationException("Leaf does not support a credential type in use in the group.");
            }
        }
    }
}
