using CipherChat.Mls.Crypto;
using CipherChat.Mls.Framing;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

/// <summary>
/// One member's view of an MLS group (RFC 9420), cipher suite 1. Creating a commit does not change the group:
/// the commit stays pending until <see cref="MergePendingCommit"/> (after the delivery service accepted it) or
/// <see cref="DiscardPendingCommit"/> (it lost against another commit). Not thread-safe.
/// </summary>
public sealed partial class MlsGroup : IDisposable
{
    private readonly MlsCipherSuite _suite = MlsCipherSuite.Default;
    private readonly MlsGroupOptions _options;
    private readonly SignatureKeyPair _signer;
    private readonly LinkedList<PastEpoch> _past = new();
    private readonly List<CachedProposal> _proposals = [];
    private readonly Dictionary<string, HpkeKeyPair> _pendingUpdateKeys = new(StringComparer.Ordinal);

    private GroupContext _context;
    private RatchetTree _tree;
    private readonly LeafIndex _own;
    private EpochKeys _keys;
    private SecretTree _secretTree;
    private TreePrivateKeys _privateKeys;
    private byte[] _interimTranscriptHash;
    private byte[] _confirmationTag;
    private PendingCommit? _pending;
    private bool _removed;
    private bool _disposed;

    private MlsGroup(
        MlsGroupOptions options,
        SignatureKeyPair signer,
        GroupContext context,
        RatchetTree tree,
        LeafIndex own,
        EpochKeys keys,
        SecretTree secretTree,
        TreePrivateKeys privateKeys,
        byte[] interim,
        byte[] confirmationTag)
    {
        _options = options;
        _signer = signer;
        _context = context;
        _tree = tree;
        _own = own;
        _keys = keys;
        _secretTree = secretTree;
        _privateKeys = privateKeys;
        _interimTranscriptHash = interim;
        _confirmationTag = confirmationTag;
    }

    public ReadOnlyMemory<byte> GroupId => _context.GroupId;

    public ulong Epoch => _context.Epoch;

    public GroupContext Context => _context;

    public LeafIndex OwnLeafIndex => _own;

    /// <summary>False once a commit removed this member.</summary>
    public bool IsActive => !_removed;

    public bool HasPendingCommit => _pending is not null;

    /// <summary>A copy of the current ratchet tree.</summary>
    public RatchetTree Tree => _tree.Clone();

    /// <summary>The members, in leaf order.</summary>
    public IReadOnlyList<(LeafIndex Index, LeafNode Leaf)> Members => _tree.Members().ToList();

    /// <summary>The current epoch's interim transcript hash.</summary>
    public ReadOnlyMemory<byte> InterimTranscriptHash => _interimTranscriptHash;

    /// <summary>
    /// Creates a one-member group at epoch 0 (RFC 9420 §11). The creator's leaf is the KeyPackage's leaf; the
    /// bundle's encryption key becomes the leaf's private key (the init key is not used).
    /// </summary>
    public static MlsGroup Create(
        ReadOnlyMemory<byte> groupId, KeyPackageBundle keyPackage, SignatureKeyPair signer, IReadOnlyList<Extension>? extensions = null, MlsGroupOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(keyPackage);
        ArgumentNullException.ThrowIfNull(signer);
        if (groupId.IsEmpty)
        {
            throw new MlsMisuseException("A group id must not be empty.");
        }

        if (!keyPackage.KeyPackage.LeafNode.SignatureKey.Span.SequenceEqual(signer.PublicKey))
        {
            throw new MlsMisuseException("The KeyPackage was not made with this signature key.");
        }

        options ??= new MlsGroupOptions();
        var suite = MlsCipherSuite.Default;
        var tree = RatchetTree.Create(keyPackage.KeyPackage.LeafNode, suite);
        var context = new GroupContext
        {
            CipherSuite = (CipherSuite)suite.Id,
            GroupId = groupId.ToArray(),
            Epoch = 0,
            TreeHash = tree.TreeHash(),
            ConfirmedTranscriptHash = ReadOnlyMemory<byte>.Empty,
            Extensions = extensions ?? [],
        };

        foreach (var (_, leaf) in tree.Members())
        {
            TreeChecks.LeafFitsGroup(tree, leaf, context.Extensions);
        }

        // The epoch secret of epoch 0 is random: the key schedule from a random init secret gives one.
        using var init = KeySchedule.NewRandomInitSecret(suite);
        using var secrets = KeySchedule.Derive(suite, init, null, null, context);
        var tag = secrets.ConfirmationTag([]);
        var interim = TranscriptHash.Interim(suite, [], tag);
        var privateKeys = TreePrivateKeys.ForLeaf(new LeafIndex(0), keyPackage.EncryptionKey.PrivateKey);
        var keys = EpochKeys.From(secrets);
        var secretTree = secrets.CreateSecretTree(tree.LeafCount, options.SecretTree);
        return new MlsGroup(options, SignatureKeyPair.FromPrivateKey(signer.PrivateKey.Span), context, tree, new LeafIndex(0), keys, secretTree, privateKeys, interim, tag);
    }

    /// <summary>RFC 9420 §8.7 epoch_authenticator of the current epoch.</summary>
    public byte[] EpochAuthenticator()
    {
        ThrowIfDisposed();
        return _keys.EpochAuthenticator.ToArray();
    }

    /// <summary>RFC 9420 §8.5 MLS-Exporter(label, context, length).</summary>
    public Secret Export(string label, ReadOnlySpan<byte> context, int length)
    {
        ArgumentNullException.ThrowIfNull(label);
        ThrowIfDisposed();
        return _keys.Export(_suite, label, context, length);
    }

    /// <summary>The identity of a member's basic credential, or empty.</summary>
    public ReadOnlyMemory<byte> IdentityOf(uint leaf) => _tree.GetLeaf(new LeafIndex(leaf))?.Credential.Identity ?? ReadOnlyMemory<byte>.Empty;

    /// <summary>Encrypts application data as a PrivateMessage of the current epoch.</summary>
    public MlsMessage EncryptApplication(ReadOnlySpan<byte> data, ReadOnlySpan<byte> authenticatedData = default)
    {
        ThrowIfUnusable();

        // RFC 9420 §12.4: a member that has observed valid proposals MUST commit before sending application data.
        if (_proposals.Count > 0)
        {
            throw new MlsMisuseException("Proposals are pending: commit them before sending application data.");
        }

        var framed = new FramedContent
        {
            GroupId = _context.GroupId,
            Epoch = _context.Epoch,
            Sender = Sender.Member(_own.Value),
            AuthenticatedData = authenticatedData.ToArray(),
            Content = new ApplicationContent { Data = data.ToArray() },
        };
        var content = ContentSigning.SignNonCommit(_suite, WireFormat.PrivateMessage, framed, _context, _signer.PrivateKey);
        return new MlsMessage(PrivateMessageProtection.Protect(_suite, content, _secretTree, _keys.SenderDataSecret, _options.PaddingBlock));
    }

    /// <summary>
    /// Processes a PublicMessage or PrivateMessage from another member: application data (current or a kept past
    /// epoch), a standalone proposal (cached), or a commit (applied at once). Anything that fails a check throws
    /// <see cref="MlsValidationException"/> and leaves the group unchanged, except that a PrivateMessage's key,
    /// once used, stays consumed.
    /// </summary>
    public ReceivedMessage Process(MlsMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfUnusable();

        var content = Unprotect(message);
        var framed = content.Content;
        var sender = framed.Sender.Index;
        switch (framed.Content)
        {
            case ApplicationContent app:
                return new ReceivedApplicationMessage
                {
                    Epoch = framed.Epoch,
                    Sender = sender,
                    WireFormat = content.WireFormat,
                    AuthenticatedData = framed.AuthenticatedData,
                    Data = app.Data.ToArray(),
                };
            case ProposalContent proposal:
                return ReceiveProposal(content, proposal.Proposal);
            case CommitContent commit:
                if (sender == _own.Value)
                {
                    // RFC 9420 §12.4: the committer applies its own commit through its pending state.
                    throw new MlsValidationException("A member's own commit is merged, not processed.");
                }

                return ProcessCommit(content, commit.Commit);
            default:
                throw new MlsValidationException("Unknown content.");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _signer.Dispose();
        _keys.Dispose();
        _secretTree.Dispose();
        _privateKeys.Dispose();
        _pending?.Dispose();
        foreach (var past in _past)
        {
            past.Dispose();
        }

        foreach (var key in _pendingUpdateKeys.Values)
        {
            key.Dispose();
        }
    }

    // Decrypts or checks the framing, and verifies the signature with the sender's key of the message's epoch.
    private AuthenticatedContent Unprotect(MlsMessage message)
    {
        switch (message.Body)
        {
            case PublicMessage pub:
                {
                    CheckGroupAndEpoch(pub.Content.GroupId.Span, pub.Content.Epoch, handshake: true);

                    // Only members send messages here; external senders and new members (external joins) are not supported.
                    if (pub.Content.Sender.SenderType != SenderType.Member)
                    {
                        throw new MlsValidationException("Only member senders are supported.");
                    }

                    var content = PublicMessageProtection.Unprotect(_suite, pub, _context, _keys.MembershipKey);
                    var leaf = _tree.GetLeaf(new LeafIndex(pub.Content.Sender.Index))
                        ?? throw new MlsValidationException("Public message from a leaf that is not a member.");
                    ContentSigning.Verify(_suite, content, _context, leaf.SignatureKey.Span);
                    return content;
                }

            case PrivateMessage priv:
                {
                    var handshake = priv.ContentType != ContentType.Application;
                    CheckGroupAndEpoch(priv.GroupId.Span, priv.Epoch, handshake);
                    if (priv.Epoch == _context.Epoch)
                    {
                        var decrypted = PrivateMessageProtection.Unprotect(
                            _suite, priv, _secretTree, _keys.SenderDataSecret, leaf => _tree.GetLeaf(new LeafIndex(leaf)) is not null);
                        var leaf = _tree.GetLeaf(new LeafIndex(decrypted.Content.Content.Sender.Index))!;
                        ContentSigning.Verify(_suite, decrypted.Content, _context, leaf.SignatureKey.Span);
                        return decrypted.Content;
                    }

                    var past = _past.FirstOrDefault(p => p.Context.Epoch == priv.Epoch)
                        ?? throw new MlsValidationException("Message from an epoch whose keys are gone.");
                    var old = PrivateMessageProtection.Unprotect(
                        _suite, priv, past.SecretTree, past.SenderDataSecret, leaf => past.Tree.GetLeaf(new LeafIndex(leaf)) is not null);
                    var oldLeaf = past.Tree.GetLeaf(new LeafIndex(old.Content.Content.Sender.Index))!;
                    ContentSigning.Verify(_suite, old.Content, past.Context, oldLeaf.SignatureKey.Span);
                    return old.Content;
                }

            default:
                throw new MlsValidationException("Only public and private messages are processed by a group.");
        }
    }

    private void CheckGroupAndEpoch(ReadOnlySpan<byte> groupId, ulong epoch, bool handshake)
    {
        if (!groupId.SequenceEqual(_context.GroupId.Span))
        {
            throw new MlsValidationException("Message for another group.");
        }

        // RFC 9420 §12.4.2: handshake messages MUST be for the current epoch; application messages may come from a
        // kept past epoch (RFC 9420 §15.3).
        if (epoch == _context.Epoch)
        {
            return;
        }

        if (handshake || epoch > _context.Epoch)
        {
            throw new MlsValidationException("Message for another epoch.");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfUnusable()
    {
        ThrowIfDisposed();
        if (_removed)
        {
            throw new MlsMisuseException("This member was removed from the group.");
        }
    }

    // Moves the current epoch into the past list (bounded) and installs the next one.
    private void Advance(NextEpoch next)
    {
        _past.AddFirst(new PastEpoch(_context, _tree, _secretTree, _keys.SenderDataSecret.Clone(), _keys.ResumptionPsk.Clone()));
        while (_past.Count > Math.Max(0, _options.PastEpochsKept))
        {
            _past.Last!.Value.Dispose();
            _past.RemoveLast();
        }

        _keys.Dispose();
        _privateKeys.Dispose();
        _context = next.Context;
        _tree = next.Tree;
        _keys = next.Keys;
        _secretTree = next.SecretTree;
        // RFC 9420 §9.2: keys of nodes that are now blank or hold another public key are deleted.
        _privateKeys = next.PrivateKeys.WithoutStaleKeys(next.Tree);
        next.PrivateKeys.Dispose();
        _interimTranscriptHash = next.InterimTranscriptHash;
        _confirmationTag = next.ConfirmationTag;

        // RFC 9420 §12.4: proposals of the old epoch cannot be committed any more.
        _proposals.Clear();
        foreach (var key in _pendingUpdateKeys.Values)
        {
            key.Dispose();
        }

        _pendingUpdateKeys.Clear();
        _pending?.Dispose();
        _pending = null;
    }

    /// <summary>The state of the next epoch, computed by a commit before it becomes current.</summary>
    private sealed class NextEpoch : IDisposable
    {
        public required GroupContext Context { get; init; }

        public required RatchetTree Tree { get; init; }

        public required EpochKeys Keys { get; init; }

        public required SecretTree SecretTree { get; init; }

        public required TreePrivateKeys PrivateKeys { get; init; }

        public required byte[] InterimTranscriptHash { get; init; }

        public required byte[] ConfirmationTag { get; init; }

        public void Dispose()
        {
            Keys.Dispose();
            SecretTree.Dispose();
            PrivateKeys.Dispose();
        }
    }

    private sealed class PendingCommit : IDisposable
    {
        public required NextEpoch Next { get; init; }

        public void Dispose() => Next.Dispose();
    }

    /// <summary>A past epoch kept to decrypt late application messages.</summary>
    private sealed class PastEpoch(GroupContext context, RatchetTree tree, SecretTree secretTree, Secret senderDataSecret, Secret resumptionPsk) : IDisposable
    {
        public GroupContext Context { get; } = context;

        public RatchetTree Tree { get; } = tree;

        public SecretTree SecretTree { get; } = secretTree;

        public Secret SenderDataSecret { get; } = senderDataSecret;

        public Secret ResumptionPsk { get; } = resumptionPsk;

        public void Dispose()
        {
            SecretTree.Dispose();
            SenderDataSecret.Dispose();
            ResumptionPsk.Dispose();
        }
    }

    private sealed record CachedProposal(byte[] Reference, Proposal Proposal, uint Sender);
}
