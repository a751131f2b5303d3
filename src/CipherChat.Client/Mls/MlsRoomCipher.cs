using System.Security.Cryptography;
using System.Text.Json;
using CipherChat.Client.Rooms;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Client.Mls;

/// <summary>
/// An MLS room (RFC 9420, cipher suite 1) on top of <see cref="MlsGroup"/>: chat messages are application messages
/// whose plaintext is the same <see cref="PskPayload"/> as in PSK rooms; commits are PublicMessages (so the delivery
/// service can see membership changes and order them); every change is stored in the <see cref="MlsStateStore"/>
/// before anything leaves the device. No networking: the caller submits what this class produces and feeds it the
/// room's log in order.
/// </summary>
/// <remarks>
/// Commits are two-phase. <see cref="PrepareCommit"/> stores the current state together with the state the commit
/// leads to; the caller submits the commit for <see cref="MlsOutgoingCommit.Epoch"/>; then
/// <see cref="ConfirmPendingCommit"/> (accepted) or <see cref="DiscardPendingCommit"/> (another commit won the
/// epoch). After a crash, <see cref="Load"/> finds the pending commit, and either the server's answer or the log
/// (<see cref="Receive"/> sees the commit itself, or another commit for the same epoch) resolves it. Not thread-safe.
/// </remarks>
public sealed class MlsRoomCipher : IRoomCipher
{
    /// <summary>Largest payload processed; the server's frame limit is lower.</summary>
    public const int MaxPayloadBytes = 1024 * 1024;

    public const string UndecryptableError = "cannot decrypt (tampered, replayed, or from an epoch whose keys are gone)";

    private static readonly MlsGroupOptions GroupOptions = new()
    {
        // Commits must stay PublicMessages: the delivery service reads membership changes from them, and a
        // commit created and then discarded must not have used a handshake key of the secret tree.
        HandshakeWireFormat = WireFormat.PublicMessage,
        PastEpochsKept = 4,
    };

    private readonly MlsStateStore _store;
    private readonly MlsMember _member;
    private readonly TimeProvider _time;
    private readonly Dictionary<ulong, Dictionary<uint, string>> _rosters;
    private MlsGroup _group;
    private Pending? _pending;
    private readonly HashSet<string> _proposedRemovals = new(StringComparer.Ordinal);

    private MlsRoomCipher(string room, MlsStateStore store, MlsMember member, MlsGroup group, Dictionary<ulong, Dictionary<uint, string>> rosters, Pending? pending, TimeProvider? time)
    {
        Room = room;
        _store = store;
        _member = member;
        _group = group;
        _rosters = rosters;
        _pending = pending;
        _time = time ?? TimeProvider.System;
        RecordRoster();
    }

    public string Room { get; }

    public string Kind => RoomKinds.Mls;

    public ulong Epoch => _group.Epoch;

    public ReadOnlyMemory<byte> GroupId => _group.GroupId;

    /// <summary>False once a commit removed this member: nothing more can be read or sent.</summary>
    public bool IsActive => _group.IsActive;

    public bool HasPendingCommit => _pending is not null;

    /// <summary>The epoch the pending commit applies to, when one is pending.</summary>
    public ulong? PendingEpoch => _pending?.Epoch;

    /// <summary>RFC 9420 §8.7: equal for all members in the same epoch; a check that they share the group state.</summary>
    public byte[] EpochAuthenticator() => _group.EpochAuthenticator();

    /// <summary>Application messages waiting for a later epoch.</summary>
    public int HeldCount => _store.HeldCount(Room);

    public IReadOnlyList<MlsMemberInfo> Members =>
        _group.Members.Select(m => new MlsMemberInfo(m.Index.Value, MlsMember.UsernameOf(m.Leaf.Credential) ?? "?", m.Leaf.SignatureKey.ToArray())).ToList();

    /// <summary>Creates a one-member group for <paramref name="room"/> with a random group id and stores it.</summary>
    public static MlsRoomCipher Create(string room, MlsMember member, MlsStateStore store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(store);
        if (store.GetRoom(room) is not null)
        {
            throw new MlsRoomException($"this device already holds an MLS group for '{room}'");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        using var keyPackage = KeyPackages.Create(MlsCipherSuite.Default, member.Credential, member.Signer, new KeyPackageOptions { Now = now });
        var group = MlsGroup.Create(RandomNumberGenerator.GetBytes(16), keyPackage, member.Signer, null, GroupOptions);
        var cipher = new MlsRoomCipher(room, store, member, group, [], null, time);
        cipher.Persist();
        return cipher;
    }

    /// <summary>Joins from a Welcome made for one of this device's KeyPackages in <paramref name="pool"/>, and stores the group.</summary>
    public static MlsRoomCipher Join(string room, MlsMember member, MlsStateStore store, KeyPackagePool pool, ReadOnlySpan<byte> welcomeMessage, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(pool);
        if (store.GetRoom(room) is not null)
        {
            throw new MlsRoomException($"this device already holds an MLS group for '{room}'");
        }

        Welcome welcome;
        try
        {
            welcome = MlsMessage.FromBytes(welcomeMessage).Body as Welcome
                ?? throw new MlsRoomException("the invitation is not an MLS Welcome");
        }
        catch (MlsException ex)
        {
            throw new MlsRoomException("the invitation is malformed", ex);
        }

        var (bundle, lastResort) = pool.FindFor(welcome);
        using (bundle)
        {
            MlsGroup group;
            try
            {
                group = MlsGroup.Join(welcome, bundle, member.Signer, null, GroupOptions);
            }
            catch (MlsException ex)
            {
                throw new MlsRoomException("the invitation does not verify (damaged or forged)", ex);
            }

            var cipher = new MlsRoomCipher(room, store, member, group, [], null, time);
            cipher.Persist();
            pool.MarkUsed(bundle.Reference, lastResort);
            return cipher;
        }
    }

    /// <summary>Loads the stored group of <paramref name="room"/>, with its pending commit if one was in flight.</summary>
    public static MlsRoomCipher Load(string room, MlsMember member, MlsStateStore store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(store);
        var stored = store.GetRoom(room) ?? throw new MlsRoomException($"this device holds no MLS group for '{room}'");
        var group = Restore(stored.GroupState);
        Pending? pending = stored.PendingState is { } ps && stored.PendingCommit is { } pc
            ? new Pending((ulong)stored.PendingEpoch!.Value, ps, pc, stored.PendingWelcome)
            : null;
        return new MlsRoomCipher(room, store, member, group, ReadRosters(stored.Rosters), pending, time);
    }

    // ---- sending ----

    /// <summary>Encrypts a chat message as an application message of the current epoch; the consumed key is stored first.</summary>
    public byte[] Seal(OutgoingContent content, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(content);
        ThrowIfInactive();
        if (!string.Equals(content.From, _member.Username, StringComparison.Ordinal))
        {
            throw new MlsRoomException("a message can only be sent under this device's own name");
        }

        var plaintext = PskPayload.Encode(content);
        try
        {
            var message = _group.EncryptApplication(plaintext).ToBytes();

            // The sender ratchet moved: store it before the ciphertext can leave, or a restart would reuse a key.
            Persist();
            return message;
        }
        catch (MlsMisuseException ex) when (_group.IsActive)
        {
            // RFC 9420 §12.4: proposals seen in this epoch must be committed before application data is sent.
            throw new MlsCommitNeededException("proposals of this room must be committed before a message is sent", ex);
        }
        catch (MlsException ex)
        {
            throw new MlsRoomException("cannot encrypt for this room: " + ex.Message, ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Validates <paramref name="keyPackages"/> (encoded <c>KeyPackage</c>s fetched from the server) and prepares a
    /// commit adding them; the usernames and keys of the added members come back for pinning.
    /// </summary>
    public MlsOutgoingCommit PrepareAdd(IReadOnlyList<byte[]> keyPackages) => PrepareChange(keyPackages, [], forcePath: false);

    /// <summary>Prepares a commit removing the named members.</summary>
    public MlsOutgoingCommit PrepareRemove(IReadOnlyList<string> usernames) => PrepareChange([], usernames, forcePath: false);

    /// <summary>
    /// Prepares one commit that adds the members of <paramref name="keyPackages"/> (validated here), removes the named
    /// members, commits the proposals received in this epoch, and carries a path when <paramref name="forcePath"/>.
    /// </summary>
    public MlsOutgoingCommit PrepareChange(IReadOnlyList<byte[]> keyPackages, IReadOnlyList<string> removeUsernames, bool forcePath)
    {
        ArgumentNullException.ThrowIfNull(keyPackages);
        ArgumentNullException.ThrowIfNull(removeUsernames);
        ThrowIfInactive();
        var now = _time.GetUtcNow();
        var decoded = new List<KeyPackage>();
        var members = Members;
        foreach (var bytes in keyPackages)
        {
            KeyPackage keyPackage;
            try
            {
                keyPackage = KeyPackage.FromBytes(bytes);
                KeyPackages.Validate(MlsCipherSuite.Default, keyPackage, now);
            }
            catch (MlsException ex)
            {
                throw new MlsRoomException("an invitee's KeyPackage is invalid (damaged, expired or forged)", ex);
            }

            var user = MlsMember.UsernameOf(keyPackage.LeafNode.Credential)
                ?? throw new MlsRoomException("an invitee's KeyPackage does not name a valid user");
            if (members.Any(m => m.Username == user) || decoded.Any(k => MlsMember.UsernameOf(k.LeafNode.Credential) == user))
            {
                throw new MlsRoomException($"'{user}' is already a member of '{Room}'");
            }

            decoded.Add(keyPackage);
        }

        var leaves = new List<uint>();
        foreach (var name in removeUsernames)
        {
            var user = Names.NormalizeUser(name);
            var member = members.FirstOrDefault(m => m.Username == user)
                ?? throw new MlsRoomException($"'{user}' is not a member of '{Room}'");
            if (member.LeafIndex == _group.OwnLeafIndex.Value)
            {
                throw new MlsRoomException("to leave a room, propose your own removal (another member commits it)");
            }

            if (!leaves.Contains(member.LeafIndex))
            {
                leaves.Add(member.LeafIndex);
            }
        }

        return PrepareCommit(new CommitOptions { Add = decoded, Remove = leaves, ForcePath = forcePath });
    }

    /// <summary>Members whose removal another member proposed in this epoch (seen by this process), not yet committed.</summary>
    public IReadOnlyCollection<string> ProposedRemovals => _proposedRemovals;

    /// <summary>Prepares a commit with a fresh path for this member's leaf (post-compromise security).</summary>
    public MlsOutgoingCommit PrepareUpdate() => PrepareCommit(new CommitOptions { ForcePath = true });

    /// <summary>A proposal to remove this member, for another member to commit (leaving a room).</summary>
    public byte[] ProposeLeave()
    {
        ThrowIfInactive();
        var proposal = _group.ProposeRemove(_group.OwnLeafIndex.Value).ToBytes();
        Persist();
        return proposal;
    }

    /// <summary>
    /// Creates a commit and stores, in one write, the current state and the state the commit leads to, before
    /// the commit is returned for sending. The group stays in the current epoch until the commit is confirmed.
    /// </summary>
    public MlsOutgoingCommit PrepareCommit(CommitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInactive();
        if (_pending is not null)
        {
            throw new MlsRoomException("a commit of this room is still waiting for the server's answer");
        }

        var rosterBefore = _rosters[_group.Epoch];
        var before = _group.Save();
        CommitResult result;
        byte[] after;
        try
        {
            result = _group.Commit(options with { WireFormat = WireFormat.PublicMessage });
            _group.MergePendingCommit();
            after = _group.Save();
        }
        catch (MlsException ex)
        {
            ReplaceGroup(Restore(before));
            throw new MlsRoomException("cannot make the commit: " + ex.Message, ex);
        }

        var added = options.Add
            .Select(k => new MlsMemberInfo(
                _group.Members.First(m => m.Leaf.SignatureKey.Span.SequenceEqual(k.LeafNode.SignatureKey.Span)).Index.Value,
                MlsMember.UsernameOf(k.LeafNode.Credential) ?? "?",
                k.LeafNode.SignatureKey.ToArray()))
            .ToList();

        // Everyone who leaves the group with this commit, also through proposals of other members it includes.
        var remaining = _group.Members.Select(m => MlsMember.UsernameOf(m.Leaf.Credential) ?? "?").ToHashSet(StringComparer.Ordinal);
        var removed = rosterBefore.Values.Where(name => !remaining.Contains(name)).Distinct(StringComparer.Ordinal).ToList();

        // Back to the current epoch; the next one waits in the pending state.
        ReplaceGroup(Restore(before));
        var pending = new Pending(_group.Epoch, after, result.Commit.ToBytes(), result.Welcome?.ToBytes());
        _pending = pending;
        Persist();
        return new MlsOutgoingCommit(pending.Epoch, pending.Commit, pending.Welcome, added, removed);
    }

    /// <summary>The server accepted the pending commit: its state becomes current; messages held for the new epoch are released.</summary>
    public IReadOnlyList<MlsReceived> ConfirmPendingCommit()
    {
        var pending = _pending ?? throw new MlsRoomException("no commit of this room is waiting");
        ReplaceGroup(Restore(pending.State));
        _pending = null;
        RecordRoster();
        Persist();
        return ReleaseHeld();
    }

    /// <summary>Another commit won the epoch: the pending one is forgotten (the caller catches up, then may retry).</summary>
    public void DiscardPendingCommit()
    {
        if (_pending is null)
        {
            return;
        }

        _pending = null;
        Persist();
    }

    // ---- receiving ----

    /// <summary>
    /// Opens a chat payload (the <see cref="IRoomCipher"/> view). Commits, held and own messages are reported as
    /// errors here; a delivery loop should call <see cref="Receive"/>, which handles them.
    /// </summary>
    public OpenedContent Open(ReadOnlySpan<byte> payload, string authenticatedSender, string messageId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(authenticatedSender);
        ArgumentNullException.ThrowIfNull(messageId);

        // Without a log position nothing can be held for later.
        var result = ReceiveOne(payload.ToArray(), authenticatedSender, messageId, 0, mayHold: false);
        return result.Kind switch
        {
            MlsReceivedKind.Application => new OpenedContent(result.Text, null, result.SentAt),
            MlsReceivedKind.Error => OpenedContent.Failed(result.Error!),
            MlsReceivedKind.Held => OpenedContent.Failed("from a later epoch: waiting for the commit that reaches it"),
            _ => OpenedContent.Failed("not a chat message"),
        };
    }

    /// <summary>
    /// Processes one payload of the room's log, in log order: <paramref name="authenticatedSender"/>, <paramref name="messageId"/>
    /// and <paramref name="seq"/> are what the server stored with it. Never throws for bad input.
    /// </summary>
    public MlsReceiveOutcome Receive(ReadOnlySpan<byte> payload, string authenticatedSender, string messageId, long seq)
    {
        ArgumentNullException.ThrowIfNull(authenticatedSender);
        ArgumentNullException.ThrowIfNull(messageId);
        var result = ReceiveOne(payload.ToArray(), authenticatedSender, messageId, seq, mayHold: true);
        var released = result.Kind == MlsReceivedKind.CommitApplied ? ReleaseHeld() : [];
        return new MlsReceiveOutcome(result, released);
    }

    public void Dispose() => _group.Dispose();

    private MlsReceived ReceiveOne(byte[] payload, string sender, string messageId, long seq, bool mayHold)
    {
        MlsReceived Fail(string error, ulong epoch = 0) => new(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: error);

        if (!_group.IsActive)
        {
            return Fail("this member was removed from the room");
        }

        if (payload.Length == 0 || payload.Length > MaxPayloadBytes)
        {
            return Fail("not an MLS message (empty or too large)");
        }

        MlsMessage message;
        try
        {
            message = MlsMessage.FromBytes(payload);
        }
        catch (MlsException)
        {
            return Fail("not an MLS message (malformed)");
        }

        ulong epoch;
        bool handshake;
        ReadOnlyMemory<byte> groupId;
        switch (message.Body)
        {
            case PrivateMessage priv:
                (epoch, handshake, groupId) = (priv.Epoch, priv.ContentType != ContentType.Application, priv.GroupId);
                break;
            case PublicMessage pub:
                (epoch, handshake, groupId) = (pub.Content.Epoch, pub.Content.Content is not ApplicationContent, pub.Content.GroupId);
                break;
            default:
                return Fail("not a message for a room (an MLS " + message.WireFormat + ")");
        }

        if (!groupId.Span.SequenceEqual(_group.GroupId.Span))
        {
            return Fail("an MLS message of another group", epoch);
        }

        return handshake
            ? ReceiveHandshake(message, payload, sender, messageId, seq, epoch, mayHold)
            : ReceiveApplication(message, payload, sender, messageId, seq, epoch, mayHold);
    }

    private MlsReceived ReceiveHandshake(MlsMessage message, byte[] payload, string sender, string messageId, long seq, ulong epoch, bool mayHold)
    {
        if (_pending is { } pending && epoch == pending.Epoch)
        {
            if (CryptographicOperations.FixedTimeEquals(payload, pending.Commit))
            {
                // This device's own commit, ordered by the server: it won the epoch.
                ConfirmPendingCommitCore();
                return new MlsReceived(seq, messageId, sender, MlsReceivedKind.CommitApplied, _group.Epoch);
            }

            // Another handshake message of the epoch: if it is a commit, it won and ours lost.
            if (IsCommit(message))
            {
                _pending = null;
                Persist();
            }
        }

        if (epoch < _group.Epoch)
        {
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Ignored, epoch);
        }

        if (epoch > _group.Epoch)
        {
            // A commit of a later epoch means an earlier one is missing here; keep it until that one arrives.
            if (mayHold)
            {
                _store.Hold(new HeldMlsMessage(Room, seq, messageId, sender, epoch, payload));
            }

            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Held, epoch);
        }

        var roster = _rosters[_group.Epoch];
        ReceivedMessage received;
        try
        {
            received = _group.Process(message);
        }
        catch (MlsException)
        {
            Persist();
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: "a commit or proposal that does not verify (tampered, forged or replayed)");
        }

        var claimed = roster.GetValueOrDefault(received.Sender);
        RecordRoster();
        Persist();
        if (!string.Equals(claimed, sender, StringComparison.Ordinal))
        {
            // The group followed the commit (it is valid MLS from a member); the server's attribution is wrong.
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch,
                Error: $"forged sender: the server says '{sender}' but the member who signed is '{claimed ?? "unknown"}'");
        }

        return received switch
        {
            ReceivedCommit commit => new MlsReceived(seq, messageId, sender, MlsReceivedKind.CommitApplied, _group.Epoch, RemovedThisMember: commit.RemovedThisMember),
            ReceivedProposal proposal => Proposed(proposal, roster, seq, messageId, sender, epoch),
            _ => new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: "an unexpected MLS message"),
        };
    }

    private MlsReceived ReceiveApplication(MlsMessage message, byte[] payload, string sender, string messageId, long seq, ulong epoch, bool mayHold)
    {
        if (string.Equals(sender, _member.Username, StringComparison.Ordinal))
        {
            // A sender cannot open its own application messages (its keys for them are used up); it kept the text.
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.OwnMessage, epoch);
        }

        if (epoch > _group.Epoch)
        {
            if (mayHold)
            {
                _store.Hold(new HeldMlsMessage(Room, seq, messageId, sender, epoch, payload));
            }

            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Held, epoch);
        }

        ReceivedMessage received;
        try
        {
            received = _group.Process(message);
        }
        catch (MlsException)
        {
            Persist();
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: UndecryptableError);
        }

        // The key used is consumed: store that before the text is shown.
        Persist();
        if (received is not ReceivedApplicationMessage app)
        {
            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: "an unexpected MLS message");
        }

        try
        {
            // RFC 9420 §15.1: the sender is the leaf that signed, in the epoch of the message.
            var signer = _rosters.TryGetValue(epoch, out var roster) ? roster.GetValueOrDefault(app.Sender) : null;
            if (!string.Equals(signer, sender, StringComparison.Ordinal))
            {
                return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch,
                    Error: $"forged sender: the server says '{sender}' but the member who signed is '{signer ?? "unknown"}'");
            }

            if (!PskPayload.TryDecode(app.Data, out var content, out var error))
            {
                return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: error);
            }

            if (!string.Equals(content!.From, sender, StringComparison.Ordinal))
            {
                return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: $"forged sender: sent by '{sender}' but claims to be from another name");
            }

            if (!string.Equals(content.MessageId, messageId, StringComparison.Ordinal))
            {
                return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Error, epoch, Error: "message id mismatch: replayed or tampered");
            }

            return new MlsReceived(seq, messageId, sender, MlsReceivedKind.Application, epoch, content.Text, content.SentAt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(app.Data);
        }
    }

    private MlsReceived Proposed(ReceivedProposal proposal, Dictionary<uint, string> roster, long seq, string messageId, string sender, ulong epoch)
    {
        if (proposal.Proposal is RemoveProposal remove && roster.TryGetValue(remove.Removed, out var removed))
        {
            _proposedRemovals.Add(removed);
        }

        return new MlsReceived(seq, messageId, sender, MlsReceivedKind.ProposalCached, epoch);
    }

    // Held messages of epochs now reached, in log order; those still ahead stay held.
    private List<MlsReceived> ReleaseHeld()
    {
        var released = new List<MlsReceived>();
        bool progressed;
        do
        {
            progressed = false;
            foreach (var held in _store.HeldUpTo(Room, _group.Epoch))
            {
                _store.Release(Room, held.Seq);
                var result = ReceiveOne(held.Payload, held.Sender, held.MessageId, held.Seq, mayHold: true);
                released.Add(result);
                if (result.Kind == MlsReceivedKind.CommitApplied)
                {
                    progressed = true;
                    break;
                }
            }
        }
        while (progressed && _group.IsActive);

        return released;
    }

    private void ConfirmPendingCommitCore()
    {
        var pending = _pending!;
        ReplaceGroup(Restore(pending.State));
        _pending = null;
        RecordRoster();
        Persist();
    }

    private static bool IsCommit(MlsMessage message) => message.Body switch
    {
        PublicMessage pub => pub.Content.Content is CommitContent,
        PrivateMessage priv => priv.ContentType == ContentType.Commit,
        _ => false,
    };

    private void RecordRoster()
    {
        if (!_rosters.ContainsKey(_group.Epoch))
        {
            // A new epoch: proposals of the previous one are gone.
            _proposedRemovals.Clear();
        }

        if (!_group.IsActive)
        {
            return;
        }

        _rosters[_group.Epoch] = _group.Members.ToDictionary(m => m.Index.Value, m => MlsMember.UsernameOf(m.Leaf.Credential) ?? "?");

        // Rosters are kept as long as the group keeps the epoch's keys.
        foreach (var old in _rosters.Keys.Where(e => e + (ulong)GroupOptions.PastEpochsKept < _group.Epoch).ToList())
        {
            _rosters.Remove(old);
        }
    }

    private void Persist()
    {
        var state = _group.Save();
        _store.PutRoom(
            new StoredMlsRoom(Room, state, (long)_group.Epoch, _pending?.State, (long?)_pending?.Epoch, _pending?.Commit, _pending?.Welcome, WriteRosters(_rosters)),
            _time.GetUtcNow());
        CryptographicOperations.ZeroMemory(state);
    }

    private void ReplaceGroup(MlsGroup group)
    {
        _group.Dispose();
        _group = group;
    }

    private void ThrowIfInactive()
    {
        if (!_group.IsActive)
        {
            throw new MlsRoomException($"you were removed from '{Room}'");
        }
    }

    private static MlsGroup Restore(byte[] state)
    {
        try
        {
            return MlsGroup.Restore(state, GroupOptions);
        }
        catch (MlsException ex)
        {
            throw new ClientStateException("the stored MLS group state is damaged or from a newer cipherchat", ex);
        }
    }

    private static string WriteRosters(Dictionary<ulong, Dictionary<uint, string>> rosters) =>
        JsonSerializer.Serialize(
            rosters.ToDictionary(
                e => e.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
                e => e.Value.ToDictionary(m => m.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), m => m.Value)),
            RosterJsonContext.Default.DictionaryStringDictionaryStringString);

    private static Dictionary<ulong, Dictionary<uint, string>> ReadRosters(string json)
    {
        try
        {
            var raw = JsonSerializer.Deserialize(json, RosterJsonContext.Default.DictionaryStringDictionaryStringString) ?? [];
            return raw.ToDictionary(
                e => ulong.Parse(e.Key, System.Globalization.CultureInfo.InvariantCulture),
                e => e.Value.ToDictionary(m => uint.Parse(m.Key, System.Globalization.CultureInfo.InvariantCulture), m => m.Value));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or OverflowException)
        {
            throw new ClientStateException("the stored MLS member lists are damaged", ex);
        }
    }

    private sealed record Pending(ulong Epoch, byte[] State, byte[] Commit, byte[]? Welcome);
}
