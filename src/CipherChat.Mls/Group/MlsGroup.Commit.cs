using CipherChat.Mls.Crypto;
using CipherChat.Mls.Framing;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

public sealed partial class MlsGroup
{
    /// <summary>Sends a standalone Add proposal; it is also cached for this member's next commit.</summary>
    public MlsMessage ProposeAdd(KeyPackage keyPackage)
    {
        ArgumentNullException.ThrowIfNull(keyPackage);
        return Propose(new AddProposal { KeyPackage = keyPackage });
    }

    /// <summary>Sends a standalone Remove proposal.</summary>
    public MlsMessage ProposeRemove(uint leafIndex) => Propose(new RemoveProposal { Removed = leafIndex });

    /// <summary>Sends a standalone Update proposal with a fresh leaf encryption key (committed by another member).</summary>
    public MlsMessage ProposeUpdate()
    {
        ThrowIfUnusable();
        var current = _tree.GetLeaf(_own)!;
        var key = _suite.GenerateHpkeKeyPair();
        var leaf = KeyPackages.SignLeaf(_suite, new LeafNode
        {
            EncryptionKey = key.PublicKey,
            SignatureKey = current.SignatureKey,
            Credential = current.Credential,
            Capabilities = current.Capabilities,
            LeafNodeSource = LeafNodeSource.Update,
            Extensions = current.Extensions,
            Signature = ReadOnlyMemory<byte>.Empty,
        }, _signer.PrivateKey, _context.GroupId.Span, _own.Value);
        var message = Propose(new UpdateProposal { LeafNode = leaf });
        _pendingUpdateKeys[Convert.ToHexString(key.PublicKey)] = key;
        return message;
    }

    /// <summary>Sends a standalone PreSharedKey proposal for an external PSK the members hold.</summary>
    public MlsMessage ProposeExternalPsk(ReadOnlyMemory<byte> pskId) =>
        Propose(new PreSharedKeyProposal { Psk = PreSharedKeyId.External(pskId, PskSecret.NewNonce(_suite)) });

    /// <summary>Sends a standalone GroupContextExtensions proposal.</summary>
    public MlsMessage ProposeGroupContextExtensions(IReadOnlyList<Extension> extensions) =>
        Propose(new GroupContextExtensionsProposal { Extensions = extensions });

    /// <summary>
    /// Creates a commit of the cached proposals plus those in <paramref name="options"/>; a path is added when
    /// required (RFC 9420 §12.4) or asked for. The group does not change until <see cref="MergePendingCommit"/>.
    /// </summary>
    public CommitResult Commit(CommitOptions? options = null)
    {
        ThrowIfUnusable();
        options ??= new CommitOptions();
        _pending?.Dispose();
        _pending = null;

        var entries = new List<ProposalOrRef>();
        var proposals = new List<(Proposal Proposal, uint Sender)>();
        if (options.IncludePendingProposals)
        {
            foreach (var cached in _proposals)
            {
                // RFC 9420 §12.2: the committer's own Update proposals are never committed by itself.
                if (cached.Proposal is UpdateProposal && cached.Sender == _own.Value)
                {
                    continue;
                }

                entries.Add(ProposalOrRef.ByReference(cached.Reference));
                proposals.Add((cached.Proposal, cached.Sender));
            }
        }

        var byValue = new List<Proposal>();
        if (options.GroupContextExtensions is { } gce)
        {
            byValue.Add(new GroupContextExtensionsProposal { Extensions = gce });
        }

        byValue.AddRange(options.Remove.Select(r => new RemoveProposal { Removed = r }));
        byValue.AddRange(options.Add.Select(k => new AddProposal { KeyPackage = k }));
        byValue.AddRange(options.ExternalPsks.Select(id => new PreSharedKeyProposal { Psk = PreSharedKeyId.External(id, PskSecret.NewNonce(_suite)) }));
        foreach (var proposal in byValue)
        {
            // RFC 9420 §12.2: the committer checks each proposal it adds, as every receiver will.
            ValidateProposal(proposal, _own.Value);
            entries.Add(ProposalOrRef.ByValue(proposal));
            proposals.Add((proposal, _own.Value));
        }

        ValidateProposalList(proposals, _own);
        var newTree = _tree.Clone();
        var applied = ApplyProposals(newTree, proposals);
        var pathNeeded = PathRequired(proposals) || options.ForcePath;
        TreePrivateKeys? privateKeys = null;
        var wireFormat = options.WireFormat ?? _options.HandshakeWireFormat;

        CreatedUpdatePath? created = null;
        UpdatePath? path = null;
        NextEpoch? next = null;
        try
        {
            if (pathNeeded)
            {
                created = TreeKem.CreateUpdatePath(
                    newTree, _privateKeys, _signer, _context.GroupId, applied.Added.ToHashSet(), treeHash => ProvisionalContext(treeHash, applied.Extensions));
                privateKeys = created.TakeKeys();
                path = created.Path;
            }
            else
            {
                privateKeys = _privateKeys.Clone();
            }

            var commitSecret = created?.CommitSecret;

            var commit = new Commit { Proposals = entries, Path = path };
            var framed = new FramedContent
            {
                GroupId = _context.GroupId,
                Epoch = _context.Epoch,
                Sender = Sender.Member(_own.Value),
                AuthenticatedData = options.AuthenticatedData,
                Content = new CommitContent { Commit = commit },
            };
            var signature = ContentSigning.Sign(_suite, wireFormat, framed, _context, _signer.PrivateKey);
            var signed = new AuthenticatedContent { WireFormat = wireFormat, Content = framed, Auth = new FramedContentAuthData { Signature = signature } };

            using var psk = PskResolution.Compute(_suite, applied.Psks, _options.Psks, FindResumptionPsk);
            var confirmed = TranscriptHash.Confirmed(_suite, _interimTranscriptHash, TranscriptHash.ConfirmedInput(signed));
            var newContext = NewContext(newTree, applied.Extensions, confirmed);
            using var secrets = KeySchedule.Derive(_suite, _keys.InitSecret, commitSecret, psk, newContext);
            var tag = secrets.ConfirmationTag(confirmed);
            var content = new AuthenticatedContent
            {
                WireFormat = wireFormat,
                Content = framed,
                Auth = new FramedContentAuthData { Signature = signature, ConfirmationTag = tag },
            };

            IMlsMessageBody body = wireFormat == WireFormat.PublicMessage
                ? PublicMessageProtection.Protect(_suite, content, _context, _keys.MembershipKey)
                : PrivateMessageProtection.Protect(_suite, content, _secretTree, _keys.SenderDataSecret, _options.PaddingBlock);

            var treeBytes = newTree.Encode();
            var groupInfo = SignGroupInfo(newContext, tag, options.RatchetTreeInWelcome ? treeBytes : null);
            MlsMessage? welcome = null;
            if (applied.Added.Count > 0)
            {
                var encryptedGroupInfo = WelcomeSecrets.EncryptGroupInfo(_suite, secrets.WelcomeSecret, groupInfo);
                var welcomeSecrets = new List<EncryptedGroupSecrets>();
                for (var i = 0; i < applied.Added.Count; i++)
                {
                    var joiner = applied.Added[i];
                    Secret? pathSecret = null;
                    if (created is not null)
                    {
                        pathSecret = (created.PathSecretFor(joiner) ?? throw new MlsMisuseException("No path secret covers a new member.")).Clone();
                    }

                    using var groupSecrets = new GroupSecrets { JoinerSecret = secrets.JoinerSecret.Clone(), PathSecret = pathSecret, Psks = applied.Psks };
                    var keyPackage = applied.AddedKeyPackages[i];
                    welcomeSecrets.Add(WelcomeSecrets.EncryptFor(
                        _suite, _suite.MakeKeyPackageRef(keyPackage.ToBytes()), keyPackage.InitKey.Span, groupSecrets, encryptedGroupInfo));
                }

                welcome = new MlsMessage(new Welcome
                {
                    CipherSuite = (CipherSuite)_suite.Id,
                    Secrets = welcomeSecrets,
                    EncryptedGroupInfo = encryptedGroupInfo,
                });
            }

            next = new NextEpoch
            {
                Context = newContext,
                Tree = newTree,
                Keys = EpochKeys.From(secrets),
                SecretTree = secrets.CreateSecretTree(newTree.LeafCount, _options.SecretTree),
                PrivateKeys = privateKeys,
                InterimTranscriptHash = TranscriptHash.Interim(_suite, confirmed, tag),
                ConfirmationTag = tag,
            };
            _pending = new PendingCommit { Next = next };
            next = null;
            return new CommitResult
            {
                Commit = new MlsMessage(body),
                Welcome = welcome,
                GroupInfo = new MlsMessage(groupInfo),
                RatchetTree = treeBytes,
            };
        }
        catch
        {
            if (next is null && _pending is null)
            {
                privateKeys?.Dispose();
            }

            throw;
        }
        finally
        {
            created?.Dispose();
        }
    }

    /// <summary>Makes the pending commit the current epoch (after the delivery service accepted it).</summary>
    public void MergePendingCommit()
    {
        ThrowIfUnusable();
        var pending = _pending ?? throw new MlsMisuseException("No commit is pending.");
        _pending = null;
        Advance(pending.Next);
    }

    /// <summary>Forgets the pending commit (another commit won the epoch); its secrets are wiped.</summary>
    public void DiscardPendingCommit()
    {
        _pending?.Dispose();
        _pending = null;
    }

    /// <summary>A signed GroupInfo of the current epoch, optionally with the ratchet_tree and external_pub extensions.</summary>
    public MlsMessage CreateGroupInfo(bool withRatchetTree = true)
    {
        ThrowIfUnusable();
        return new MlsMessage(SignGroupInfo(_context, _confirmationTag, withRatchetTree ? _tree.Encode() : null));
    }

    private GroupInfo SignGroupInfo(GroupContext context, byte[] confirmationTag, byte[]? ratchetTree)
    {
        var extensions = new List<Extension>();
        if (ratchetTree is not null)
        {
            extensions.Add(new Extension { ExtensionType = ExtensionType.RatchetTree, ExtensionData = ratchetTree });
        }

        var unsigned = new GroupInfo
        {
            GroupContext = context,
            Extensions = extensions,
            ConfirmationTag = confirmationTag,
            Signer = _own.Value,
            Signature = ReadOnlyMemory<byte>.Empty,
        };
        return new GroupInfo
        {
            GroupContext = context,
            Extensions = extensions,
            ConfirmationTag = confirmationTag,
            Signer = _own.Value,
            Signature = _suite.SignWithLabel(_signer.PrivateKey, "GroupInfoTBS", unsigned.ToBeSignedBytes()),
        };
    }

    private MlsMessage Propose(Proposal proposal)
    {
        ThrowIfUnusable();
        var wireFormat = _options.HandshakeWireFormat;
        var framed = new FramedContent
        {
            GroupId = _context.GroupId,
            Epoch = _context.Epoch,
            Sender = Sender.Member(_own.Value),
            Content = new ProposalContent { Proposal = proposal },
        };
        ValidateProposal(proposal, _own.Value);
        var content = ContentSigning.SignNonCommit(_suite, wireFormat, framed, _context, _signer.PrivateKey);
        IMlsMessageBody body = wireFormat == WireFormat.PublicMessage
            ? PublicMessageProtection.Protect(_suite, content, _context, _keys.MembershipKey)
            : PrivateMessageProtection.Protect(_suite, content, _secretTree, _keys.SenderDataSecret, _options.PaddingBlock);
        _proposals.Add(new CachedProposal(_suite.MakeProposalRef(content.ToBytes()), proposal, _own.Value));
        return new MlsMessage(body);
    }

    private ReceivedProposal ReceiveProposal(AuthenticatedContent content, Proposal proposal)
    {
        var sender = content.Content.Sender.Index;
        ValidateProposal(proposal, sender);
        var reference = _suite.MakeProposalRef(content.ToBytes());
        _proposals.Add(new CachedProposal(reference, proposal, sender));
        return new ReceivedProposal
        {
            Epoch = content.Content.Epoch,
            Sender = sender,
            WireFormat = content.WireFormat,
            AuthenticatedData = content.Content.AuthenticatedData,
            Proposal = proposal,
            Reference = reference,
        };
    }

    // RFC 9420 §12.4.2, the receiver's side of a commit from another member.
    private ReceivedCommit ProcessCommit(AuthenticatedContent content, Commit commit)
    {
        var committer = new LeafIndex(content.Content.Sender.Index);
        if (content.Auth.ConfirmationTag is not { } confirmationTag)
        {
            throw new MlsValidationException("Commit without a confirmation tag.");
        }

        // Resolve references against the proposals cached in this epoch.
        var proposals = new List<(Proposal Proposal, uint Sender)>(commit.Proposals.Count);
        foreach (var entry in commit.Proposals)
        {
            if (entry.Proposal is { } byValue)
            {
                ValidateProposal(byValue, committer.Value);
                proposals.Add((byValue, committer.Value));
                continue;
            }

            var cached = _proposals.FirstOrDefault(p => p.Reference.AsSpan().SequenceEqual(entry.Reference.Span))
                ?? throw new MlsValidationException("Commit refers to an unknown proposal.");
            proposals.Add((cached.Proposal, cached.Sender));
        }

        ValidateProposalList(proposals, committer);
        var newTree = _tree.Clone();
        var applied = ApplyProposals(newTree, proposals);

        // RFC 9420 §12.4: the path MUST be present for an empty commit or a path-requiring proposal.
        if (commit.Path is null && PathRequired(proposals))
        {
            throw new MlsValidationException("Commit lacks a required path.");
        }

        var removed = newTree.GetLeaf(_own) is null || applied.RemovedLeaves.Contains(_own);
        var privateKeys = _privateKeys.Clone();
        NextEpoch? next = null;
        Secret? commitSecret = null;
        try
        {
            // An Update proposal of this member that was committed: its new leaf's private key takes over.
            foreach (var (proposal, sender) in proposals)
            {
                if (proposal is UpdateProposal update && sender == _own.Value
                    && _pendingUpdateKeys.TryGetValue(Convert.ToHexString(update.LeafNode.EncryptionKey.Span), out var updateKey))
                {
                    privateKeys.Set(_own.ToNode(), new HpkeKeyPair(updateKey.PrivateKey.Clone(), updateKey.PublicKey));
                }
            }

            if (commit.Path is { } path)
            {
                ValidateCommitPath(newTree, committer, path, applied);
                if (removed)
                {
                    TreeKem.MergeUpdatePath(newTree, committer, path);
                }
                else
                {
                    using var processed = TreeKem.ProcessUpdatePath(
                        newTree, privateKeys, committer, path, _context.GroupId, applied.Added.ToHashSet(), applied.Extensions, treeHash => ProvisionalContext(treeHash, applied.Extensions));
                    var derived = processed.TakeKeys();
                    privateKeys.Dispose();
                    privateKeys = derived;
                    commitSecret = processed.CommitSecret.Clone();
                }
            }

            if (removed)
            {
                // The commit is authentic (signature and framing checked) and removes this member.
                privateKeys.Dispose();
                _removed = true;
                return new ReceivedCommit
                {
                    Epoch = content.Content.Epoch,
                    Sender = committer.Value,
                    WireFormat = content.WireFormat,
                    AuthenticatedData = content.Content.AuthenticatedData,
                    Proposals = [.. proposals.Select(p => p.Proposal)],
                    HadPath = commit.Path is not null,
                    RemovedThisMember = true,
                };
            }

            using var psk = PskResolution.Compute(_suite, applied.Psks, _options.Psks, FindResumptionPsk);
            var confirmed = TranscriptHash.Confirmed(_suite, _interimTranscriptHash, TranscriptHash.ConfirmedInput(content));
            var newContext = NewContext(newTree, applied.Extensions, confirmed);
            using var secrets = KeySchedule.Derive(_suite, _keys.InitSecret, commitSecret, psk, newContext);

            // RFC 9420 §12.4.2: the confirmation tag MUST verify.
            if (!TranscriptHash.VerifyConfirmationTag(_suite, secrets.ConfirmationKey, confirmed, confirmationTag.Span))
            {
                throw new MlsValidationException("Commit confirmation tag does not verify.");
            }

            next = new NextEpoch
            {
                Context = newContext,
                Tree = newTree,
                Keys = EpochKeys.From(secrets),
                SecretTree = secrets.CreateSecretTree(newTree.LeafCount, _options.SecretTree),
                PrivateKeys = privateKeys,
                InterimTranscriptHash = TranscriptHash.Interim(_suite, confirmed, confirmationTag.Span),
                ConfirmationTag = confirmationTag.ToArray(),
            };
        }
        catch
        {
            if (next is null)
            {
                privateKeys.Dispose();
            }

            throw;
        }
        finally
        {
            commitSecret?.Dispose();
        }

        Advance(next);
        return new ReceivedCommit
        {
            Epoch = content.Content.Epoch,
            Sender = committer.Value,
            WireFormat = content.WireFormat,
            AuthenticatedData = content.Content.AuthenticatedData,
            Proposals = [.. proposals.Select(p => p.Proposal)],
            HadPath = commit.Path is not null,
            RemovedThisMember = false,
        };
    }

    // RFC 9420 §12.4.2: the committer's new leaf is a valid commit leaf with a fresh key, and no key of the path is in use.
    private void ValidateCommitPath(RatchetTree newTree, LeafIndex committer, UpdatePath path, AppliedProposals applied)
    {
        var leaf = path.LeafNode;
        if (leaf.LeafNodeSource != LeafNodeSource.Commit)
        {
            throw new MlsValidationException("The UpdatePath leaf does not come from a commit.");
        }

        KeyPackages.ValidateLeafAlone(_suite, leaf, _context.GroupId.Span, committer.Value, null);
        var current = _tree.GetLeaf(committer)!;
        if (leaf.EncryptionKey.Span.SequenceEqual(current.EncryptionKey.Span))
        {
            throw new MlsValidationException("The committer's new leaf reuses its encryption key.");
        }

        if (!leaf.SignatureKey.Span.SequenceEqual(current.SignatureKey.Span) && newTree.ContainsSignatureKey(leaf.SignatureKey.Span))
        {
            throw new MlsValidationException("The committer's new signature key is in use.");
        }

        TreeChecks.LeafFitsGroup(newTree, leaf, applied.Extensions);
        if (newTree.ContainsEncryptionKey(leaf.EncryptionKey.Span) || path.Nodes.Any(n => newTree.ContainsEncryptionKey(n.EncryptionKey.Span)))
        {
            throw new MlsValidationException("An UpdatePath key is already in the tree.");
        }

        if (path.Nodes.Select(n => Convert.ToHexString(n.EncryptionKey.Span)).Distinct().Count() != path.Nodes.Count)
        {
            throw new MlsValidationException("An UpdatePath repeats a key.");
        }
    }

    // RFC 9420 §8.6: a resumption PSK of this group is the resumption_psk of the named epoch, if still kept.
    private Secret? FindResumptionPsk(PreSharedKeyId id)
    {
        if (id.Usage != ResumptionPskUsage.Application || !id.PskGroupId.Span.SequenceEqual(_context.GroupId.Span))
        {
            return null;
        }

        if (id.PskEpoch == _context.Epoch)
        {
            return _keys.ResumptionPsk.Clone();
        }

        return _past.FirstOrDefault(p => p.Context.Epoch == id.PskEpoch)?.ResumptionPsk.Clone();
    }

    // RFC 9420 §12.4.1: the context of the UpdatePath encryption, from the tree hash with the path merged.
    private GroupContext ProvisionalContext(byte[] treeHash, IReadOnlyList<Extension> extensions) => new()
    {
        CipherSuite = _context.CipherSuite,
        GroupId = _context.GroupId,
        Epoch = _context.Epoch + 1,
        TreeHash = treeHash,
        ConfirmedTranscriptHash = _context.ConfirmedTranscriptHash,
        Extensions = extensions,
    };

    private GroupContext NewContext(RatchetTree tree, IReadOnlyList<Extension> extensions, byte[] confirmed) => new()
    {
        CipherSuite = _context.CipherSuite,
        GroupId = _context.GroupId,
        Epoch = _context.Epoch + 1,
        TreeHash = tree.TreeHash(),
        ConfirmedTranscriptHash = confirmed,
        Extensions = extensions,
    };
}
