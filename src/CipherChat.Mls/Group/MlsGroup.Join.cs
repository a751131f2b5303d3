using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

public sealed partial class MlsGroup
{
    /// <summary>
    /// Joins a group from a Welcome (RFC 9420 §12.4.3.1). The tree comes from the GroupInfo's ratchet_tree
    /// extension or, when absent, from <paramref name="ratchetTree"/> (delivered out of band).
    /// </summary>
    public static MlsGroup Join(
        Welcome welcome, KeyPackageBundle keyPackage, SignatureKeyPair signer, ReadOnlyMemory<byte>? ratchetTree = null, MlsGroupOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        ArgumentNullException.ThrowIfNull(keyPackage);
        ArgumentNullException.ThrowIfNull(signer);
        options ??= new MlsGroupOptions();
        var suite = MlsCipherSuite.Default;

        using var opened = WelcomeSecrets.Open(suite, welcome, keyPackage.Reference, keyPackage.InitKey.PrivateKey, options.Psks);
        var info = opened.GroupInfo;
        var context = info.GroupContext;
        if (context.Version != ProtocolVersion.Mls10 || (ushort)context.CipherSuite != suite.Id || context.CipherSuite != keyPackage.KeyPackage.CipherSuite)
        {
            throw new MlsValidationException("The GroupInfo's version or cipher suite differs from the KeyPackage's.");
        }

        var treeExtensions = info.Extensions.Where(e => e.ExtensionType == ExtensionType.RatchetTree).ToList();
        if (treeExtensions.Count > 1)
        {
            throw new MlsValidationException("GroupInfo carries two ratchet_tree extensions.");
        }

        var treeBytes = treeExtensions.Count == 1
            ? treeExtensions[0].ExtensionData
            : ratchetTree ?? throw new MlsValidationException("The Welcome has no ratchet tree and none was given.");
        var tree = RatchetTree.Decode(treeBytes.Span, suite);

        var signerLeaf = tree.GetLeaf(new LeafIndex(info.Signer)) ?? throw new MlsValidationException("The GroupInfo signer is not a member.");
        WelcomeSecrets.VerifyGroupInfoSignature(suite, info, signerLeaf.SignatureKey.Span);
        RatchetTreeValidator.Validate(tree, context);

        // RFC 9420 §12.4.3.1: my leaf is the one identical to the KeyPackage's leaf.
        var mine = keyPackage.KeyPackage.LeafNode.ToBytes();
        var own = tree.FindLeaf(l => l.ToBytes().AsSpan().SequenceEqual(mine))
            ?? throw new MlsValidationException("The tree has no leaf for this KeyPackage.");

        // RFC 9420 §12.4.3.1: the path secret, if any, gives the keys of the committer's path above this member.
        var privateKeys = TreeKem.KeysForJoiner(
            tree, own, keyPackage.EncryptionKey.PrivateKey, new LeafIndex(info.Signer), opened.Secrets.PathSecret is { } pathSecret ? pathSecret.Span : []);
        try
        {
            using var secrets = KeySchedule.FromJoinerSecret(suite, opened.Secrets.JoinerSecret, opened.PskSecret, context);

            // RFC 9420 §12.4.3.1: the confirmation tag MUST verify against the confirmed transcript hash.
            if (!TranscriptHash.VerifyConfirmationTag(suite, secrets.ConfirmationKey, context.ConfirmedTranscriptHash.Span, info.ConfirmationTag.Span))
            {
                throw new MlsValidationException("GroupInfo confirmation tag does not verify.");
            }

            var interim = TranscriptHash.Interim(suite, context.ConfirmedTranscriptHash.Span, info.ConfirmationTag.Span);
            var keys = EpochKeys.From(secrets);
            var secretTree = secrets.CreateSecretTree(tree.LeafCount, options.SecretTree);
            return new MlsGroup(
                options, SignatureKeyPair.FromPrivateKey(signer.PrivateKey.Span), context, tree, own, keys, secretTree, privateKeys, interim, info.ConfirmationTag.ToArray());
        }
        catch
        {
            privateKeys.Dispose();
            throw;
        }
    }
}
