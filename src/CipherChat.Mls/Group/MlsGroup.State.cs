using System.Buffers;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

public sealed partial class MlsGroup
{
    /// <summary>Version of the bytes written by <see cref="Save"/>.</summary>
    public const byte StateVersion = 1;

    private static ReadOnlySpan<byte> StateMagic => "CCMG"u8;

    /// <summary>
    /// The whole group state as versioned bytes: context, tree, private keys, epoch secrets, secret trees (current
    /// and kept past epochs), transcript hashes and cached proposals. The bytes hold secrets: store them encrypted.
    /// A pending commit is not part of the state: merge or discard it first.
    /// </summary>
    public byte[] Save()
    {
        ThrowIfDisposed();
        if (_pending is not null)
        {
            throw new MlsMisuseException("Merge or discard the pending commit before saving.");
        }

        var buffer = new ArrayBufferWriter<byte>();
        var w = new TlsWriter(buffer);
        w.WriteBytes(StateMagic);
        w.WriteUInt8(StateVersion);
        w.WriteUInt16(_suite.Id);
        _context.Encode(w);
        w.WriteVector(_tree.Encode());
        w.WriteUInt32(_own.Value);
        w.WritePresence(_removed);
        w.WriteVector(_signer.PrivateKey.Span);
        // The path keys keep the layout of version 1 (count, then node and private key in node order), not
        // TreePrivateKeys.Serialize, so that states saved before stay readable.
        var nodes = _privateKeys.Nodes;
        w.WriteUInt32((uint)nodes.Count);
        foreach (var node in nodes)
        {
            _privateKeys.TryGetPrivateKey(node, out var privateKey);
            w.WriteUInt32(node.Value);
            w.WriteVector(privateKey.Span);
        }

        _keys.Write(w);
        _secretTree.WriteState(w);
        w.WriteVector(_interimTranscriptHash);
        w.WriteVector(_confirmationTag);
        w.WriteUInt32((uint)_proposals.Count);
        foreach (var cached in _proposals)
        {
            w.WriteVector(cached.Reference);
            w.WriteVector(cached.Proposal.ToBytes());
            w.WriteUInt32(cached.Sender);
        }

        w.WriteUInt32((uint)_pendingUpdateKeys.Count);
        foreach (var key in _pendingUpdateKeys.Values)
        {
            w.WriteVector(key.PrivateKey.Span);
        }

        w.WriteUInt32((uint)_past.Count);
        foreach (var past in _past)
        {
            past.Context.Encode(w);
            w.WriteVector(past.Tree.Encode());
            past.SecretTree.WriteState(w);
            w.WriteVector(past.SenderDataSecret.Span);
            w.WriteVector(past.ResumptionPsk.Span);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Restores a group saved by <see cref="Save"/>. Malformed or foreign bytes throw <see cref="MlsDecodeException"/>.</summary>
    public static MlsGroup Restore(ReadOnlySpan<byte> state, MlsGroupOptions? options = null)
    {
        options ??= new MlsGroupOptions();
        var suite = MlsCipherSuite.Default;
        var reader = new TlsReader(state);
        if (!reader.ReadBytes(StateMagic.Length).SequenceEqual(StateMagic))
        {
            throw new MlsDecodeException(MlsDecodeError.Malformed, "Not a saved MLS group.");
        }

        if (reader.ReadUInt8() != StateVersion)
        {
            throw new MlsDecodeException(MlsDecodeError.UnsupportedVersion, "Unknown saved group version.");
        }

        if (reader.ReadUInt16() != suite.Id)
        {
            throw new MlsDecodeException(MlsDecodeError.UnknownValue, "Saved group uses an unknown cipher suite.");
        }

        var disposables = new List<IDisposable>();
        try
        {
            var context = GroupContext.Decode(ref reader);
            var tree = DecodeTree(reader.ReadVector(), suite);
            var own = new LeafIndex(reader.ReadUInt32());
            var removed = reader.ReadPresence();
            var signer = SignatureKeyPair.FromPrivateKey(CheckedKey(reader.ReadVector()));
            disposables.Add(signer);
            var privateKeys = ReadPathKeys(ref reader, own);
            disposables.Add(privateKeys);

            var keys = EpochKeys.Read(ref reader);
            disposables.Add(keys);
            var secretTree = SecretTree.ReadState(suite, ref reader, options.SecretTree);
            disposables.Add(secretTree);
            var interim = reader.ReadVectorBytes();
            var tag = reader.ReadVectorBytes();
            var group = new MlsGroup(options, signer, context, tree, own, keys, secretTree, privateKeys, interim, tag) { _removed = removed };
            disposables.Clear();
            disposables.Add(group);

            var proposalCount = reader.ReadUInt32();
            for (uint i = 0; i < proposalCount; i++)
            {
                var reference = reader.ReadVectorBytes();
                var proposal = TlsCodec.DecodeExact<Proposal>(reader.ReadVector());
                group._proposals.Add(new CachedProposal(reference, proposal, reader.ReadUInt32()));
            }

            var updateCount = reader.ReadUInt32();
            for (uint i = 0; i < updateCount; i++)
            {
                var pair = Hpke.DeserializePrivateKey(CheckedKey(reader.ReadVector()));
                group._pendingUpdateKeys[Convert.ToHexString(pair.PublicKey)] = pair;
            }

            var pastCount = reader.ReadUInt32();
            for (uint i = 0; i < pastCount; i++)
            {
                var pastContext = GroupContext.Decode(ref reader);
                var pastTree = DecodeTree(reader.ReadVector(), suite);
                var pastSecretTree = SecretTree.ReadState(suite, ref reader, options.SecretTree);
                group._past.AddLast(new PastEpoch(pastContext, pastTree, pastSecretTree, new Secret(reader.ReadVector()), new Secret(reader.ReadVector())));
            }

            reader.EnsureEnd();
            if (own.Value >= tree.LeafCount || (!removed && tree.GetLeaf(own) is null))
            {
                throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved group's own leaf is not in its tree.");
            }

            return group;
        }
        catch (Exception e) when (e is MlsValidationException or MlsMisuseException)
        {
            foreach (var d in disposables)
            {
                d.Dispose();
            }

            throw new MlsDecodeException("Saved group state is inconsistent.", e);
        }
        catch
        {
            foreach (var d in disposables)
            {
                d.Dispose();
            }

            throw;
        }
    }

    // Version 1 path keys: a uint32 count, then { uint32 node; opaque private_key<V> }; a later entry for a node replaces an earlier one.
    private static TreePrivateKeys ReadPathKeys(ref TlsReader reader, LeafIndex own)
    {
        var entries = new List<(NodeIndex Node, HpkeKeyPair Pair)>();
        TreePrivateKeys? keys = null;
        try
        {
            var keyCount = reader.ReadUInt32();
            for (uint i = 0; i < keyCount; i++)
            {
                var node = new NodeIndex(reader.ReadUInt32());
                entries.Add((node, Hpke.DeserializePrivateKey(CheckedKey(reader.ReadVector()))));
            }

            var leafEntry = entries.FindLastIndex(e => e.Node == own.ToNode());
            if (leafEntry < 0)
            {
                throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved group has no private key for its own leaf.");
            }

            keys = TreePrivateKeys.ForLeaf(own, entries[leafEntry].Pair.PrivateKey);
            for (var i = 0; i < entries.Count; i++)
            {
                if (entries[i].Node != own.ToNode())
                {
                    keys.Set(entries[i].Node, entries[i].Pair);
                    entries[i] = default;
                }
            }

            return keys;
        }
        catch
        {
            keys?.Dispose();
            throw;
        }
        finally
        {
            foreach (var (_, pair) in entries)
            {
                pair?.Dispose();
            }
        }
    }

    private static RatchetTree DecodeTree(ReadOnlySpan<byte> bytes, MlsCipherSuite suite) => RatchetTree.Decode(bytes, suite);

    private static ReadOnlySpan<byte> CheckedKey(ReadOnlySpan<byte> key) => key.Length == 32
        ? key
        : throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved private key has the wrong length.");
}
