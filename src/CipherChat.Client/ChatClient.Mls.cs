using System.Security.Cryptography;
using CipherChat.Client.Mls;
using CipherChat.Client.Net;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;
using CipherChat.Mls;
using CipherChat.Mls.Messages;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using Google.Protobuf;

namespace CipherChat.Client;

/// <summary>A change of an MLS room's membership as the server ordered it: the epoch it led to and the commit's place in the log.</summary>
public sealed record MembershipChange(string Room, string User, ulong Epoch, ulong Seq);

// MLS rooms and direct conversations: creating, inviting, removing, leaving, sending and reading the log in order.
public sealed partial class ChatClient
{
    private int _draining;

    /// <summary>Attempts at a commit when other members keep winning the epoch.</summary>
    public const int CommitAttempts = 8;

    /// <summary>How long a member keeps its own leaf before it commits a fresh path (the regular self-update).</summary>
    public TimeSpan SelfUpdateInterval { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How many messages a member sends in a room before it commits a fresh path (the regular self-update).</summary>
    public int SelfUpdateMessages { get; set; } = 100;

    /// <summary>One-time KeyPackages kept on the server.</summary>
    public int KeyPackageTarget { get; set; } = KeyPackagePool.DefaultTarget;

    /// <summary>For crash tests: runs after a commit is prepared (and stored as pending) and before it is submitted.</summary>
    internal Action<string>? AfterCommitPrepared { get; set; }

    /// <summary>For crash tests: runs after the server accepted a commit and before the client merges it.</summary>
    internal Action<string>? AfterCommitAccepted { get; set; }

    /// <summary>
    /// The room name as the server knows it: "@bob" becomes the direct room "@alice+bob" of this user and bob;
    /// "#name" becomes "name"; a direct room of two other users is refused.
    /// </summary>
    public string ResolveRoomName(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (room is ['@', ..] && !room.Contains('+', StringComparison.Ordinal))
        {
            var peer = Names.NormalizeUser(room[1..]);
            var me = Account.Username;
            if (peer == me)
            {
                throw new InvalidNameException("a direct conversation is with another user, not with yourself");
            }

            return Names.DirectRoom(me, peer);
        }

        var name = Names.NormalizeRoom(room);
        if (Names.IsDirectRoom(name, out var a, out var b) && Store.GetAccount() is { } account && a != account.Username && b != account.Username)
        {
            throw new InvalidNameException($"'{name}' is a direct conversation of two other users");
        }

        return name;
    }

    /// <summary>The room as people see it: "@peer" for a direct room, else its name.</summary>
    public string DisplayName(string room)
    {
        if (Names.IsDirectRoom(room, out var a, out var b) && Store.GetAccount() is { } account)
        {
            return "@" + (a == account.Username ? b : a);
        }

        return room;
    }

    /// <summary>Creates an MLS room (or the direct room "@a+b"); this user is its first member and admin.</summary>
    public async Task<JoinResult> CreateRoomAsync(string room, bool adminsOnly = false, CancellationToken cancellationToken = default)
    {
        var name = ResolveRoomName(room);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Store.GetRoom(name) is not null && (Store.GetRoom(name)!.Kind != RoomKinds.Mls || MlsState.HasRoom(name)))
            {
                throw new ClientStateException($"you are already in room '{DisplayName(name)}'");
            }

            // Left over from a creation that the server refused or never saw.
            DropCipher(name);
            MlsState.RemoveRoom(name);
            var cipher = MlsRoomCipher.Create(name, Member, MlsState, _time);
            CreateRoomOk created;
            try
            {
                var reply = await connection.RequestAsync(
                    new Frame
                    {
                        CreateRoom = new CreateRoom
                        {
                            Room = name,
                            GroupId = ByteString.CopyFrom(cipher.GroupId.Span),
                            Policy = new RoomPolicy { AdminsOnlyMembership = adminsOnly },
                        },
                    },
                    cancellationToken).ConfigureAwait(false);
                created = reply.BodyCase == Frame.BodyOneofCase.CreateRoomOk ? reply.CreateRoomOk : throw UnexpectedReply("CreateRoom");
            }
            catch
            {
                cipher.Dispose();
                MlsState.RemoveRoom(name);
                throw;
            }

            var now = _time.GetUtcNow();
            Store.RemoveRoom(name);
            Store.UpsertRoom(new RoomRecord(name, RoomKinds.Mls, null, now, 0));
            MlsState.MarkUpdated(name, now);
            lock (_ciphers)
            {
                _ciphers[name] = cipher;
            }

            return new JoinResult(name, true, created.Room?.LastSeq ?? 0);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    /// <summary>
    /// Adds <paramref name="user"/> to the MLS room: looks up and pins their key, fetches one of their KeyPackages,
    /// checks it names them and carries that key, then commits the Add (retrying when another member changed the
    /// room at the same moment). The server delivers the Welcome.
    /// </summary>
    public async Task<MembershipChange> InviteAsync(string room, string user, CancellationToken cancellationToken = default)
    {
        var name = ResolveRoomName(room);
        var invitee = Names.NormalizeUser(user);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        RequireMlsRoom(name, "invite");
        if (invitee == Account.Username)
        {
            throw new ClientStateException($"you are already in room '{DisplayName(name)}'");
        }

        var key = await LookupKeyAsync(connection, invitee, cancellationToken).ConfigureAwait(false);
        var keyPackage = await FetchKeyPackageAsync(connection, invitee, key, cancellationToken).ConfigureAwait(false);
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var done = await CommitLockedAsync(
                name,
                (cipher, stale) => IsMember(cipher, invitee) ? null : cipher.PrepareChange([keyPackage], stale, forcePath: false),
                pathCommit: false,
                cancellationToken).ConfigureAwait(false);
            if (done is not { } accepted)
            {
                // Another member added them at the same moment.
                return new MembershipChange(name, invitee, MlsCipher(name).Epoch, 0);
            }

            return new MembershipChange(name, invitee, accepted.Ok.NewEpoch, accepted.Ok.Seq);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    /// <summary>Removes <paramref name="user"/> from the MLS room with a commit; they cannot read what follows.</summary>
    public async Task<MembershipChange> RemoveAsync(string room, string user, CancellationToken cancellationToken = default)
    {
        var name = ResolveRoomName(room);
        var target = Names.NormalizeUser(user);
        await ConnectAsync(cancellationToken).ConfigureAwait(false);
        RequireMlsRoom(name, "remove");
        if (target == Account.Username)
        {
            throw new ClientStateException($"to leave '{DisplayName(name)}', use 'cipherchat room leave {DisplayName(name)}'");
        }

        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var wasMember = false;
            var done = await CommitLockedAsync(
                name,
                (cipher, stale) =>
                {
                    wasMember = IsMember(cipher, target);
                    if (!wasMember)
                    {
                        return null;
                    }

                    // A removal another member already proposed is committed as it is.
                    var others = stale.Where(s => s != target).ToList();
                    return cipher.ProposedRemovals.Contains(target)
                        ? cipher.PrepareChange([], others, forcePath: false)
                        : cipher.PrepareChange([], [target, .. others], forcePath: false);
                },
                pathCommit: true,
                cancellationToken).ConfigureAwait(false);
            if (done is not { } accepted)
            {
                throw new ClientStateException($"'{target}' is not a member of '{DisplayName(name)}'");
            }

            return new MembershipChange(name, target, accepted.Ok.NewEpoch, accepted.Ok.Seq);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    /// <summary>
    /// Sends <paramref name="text"/> to the direct conversation with <paramref name="user"/>: accepts their
    /// invitation when one waits, else creates the room "@a+b" and invites them the first time.
    /// </summary>
    public async Task<SendResult> SendDirectAsync(string user, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var peer = Names.NormalizeUser(user);
        var name = ResolveRoomName("@" + peer);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!HasActiveMlsRoom(name))
        {
            await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        if (!HasActiveMlsRoom(name))
        {
            // Pins the peer's key, and fails clearly before anything is created when there is no such user.
            _ = await LookupKeyAsync(connection, peer, cancellationToken).ConfigureAwait(false);
            try
            {
                await CreateRoomAsync(name, adminsOnly: false, cancellationToken).ConfigureAwait(false);
            }
            catch (ServerErrorException ex) when (ex.Code == ErrorCode.RoomExists)
            {
                // The peer opened it at about the same moment: their invitation follows.
                await WaitForWelcomeAsync(name, peer, ex, cancellationToken).ConfigureAwait(false);
            }
        }

        bool peerInGroup;
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            peerInGroup = IsMember(MlsCipher(name), peer);
        }
        finally
        {
            _roomLock.Release();
        }

        if (!peerInGroup)
        {
            // First message, or an earlier invitation failed (the peer had no KeyPackage yet).
            await InviteAsync(name, peer, cancellationToken).ConfigureAwait(false);
        }

        return await SendMlsAsync(name, text, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Accepts waiting invitations, then reads every room this device is in. Returns how many new messages were stored.</summary>
    public async Task<int> SyncAllAsync(CancellationToken cancellationToken = default)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        await DrainNoticesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
        var total = 0;
        foreach (var room in Store.GetRooms())
        {
            if (room.Kind == RoomKinds.Mls && !MlsState.HasRoom(room.Name))
            {
                continue;
            }

            try
            {
                total += await SyncRoomAsync(room.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (ChatClientException ex) when (!IsTransient(ex))
            {
                Warn($"room '{DisplayName(room.Name)}': {OneLine(ex)}");
            }
        }

        return total;
    }

    // ---- sending ----

    private async Task<SendResult> SendMlsAsync(string name, string text, CancellationToken cancellationToken)
    {
        var me = Account.Username;
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        await DrainNoticesAsync(connection, cancellationToken).ConfigureAwait(false);
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Read the log first: commits and proposals of others change what this member may send.
            await SyncMlsLockedAsync(connection, name, reconcile: true, cancellationToken).ConfigureAwait(false);
            var cipher = MlsCipher(name);
            if (SelfUpdateDue(name, cipher))
            {
                await CommitLockedAsync(name, (c, stale) => c.PrepareChange([], stale, forcePath: true), pathCommit: true, cancellationToken).ConfigureAwait(false);
            }

            var idBytes = ClientMessageIds.New();
            var messageId = Convert.ToHexStringLower(idBytes);
            var content = new OutgoingContent(messageId, me, _time.GetLocalNow(), text);
            byte[] payload;
            try
            {
                payload = MlsCipher(name).Seal(content, _time.GetUtcNow());
            }
            catch (MlsCommitNeededException)
            {
                await CommitLockedAsync(name, (c, stale) => c.PrepareChange([], stale, forcePath: false), pathCommit: true, cancellationToken).ConfigureAwait(false);
                payload = MlsCipher(name).Seal(content, _time.GetUtcNow());
            }

            var ok = await SendPayloadAsync(name, idBytes, payload, cancellationToken).ConfigureAwait(false);

            // MLS gives a sender no way to decrypt its own messages: the text is kept here, at send time.
            var now = _time.GetUtcNow();
            Store.TryAddMessage(new StoredMessage(name, (long)ok.Seq, messageId, me, ServerTime(ok.ServerTime, now), now, content.SentAt, text, null, false));
            MlsState.CountSent(name);
            return new SendResult(name, messageId, ok.Seq, ok.Duplicate);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    // Regular path update (docs/CLIENT.md): after SelfUpdateInterval or SelfUpdateMessages sent, whichever first.
    private bool SelfUpdateDue(string name, MlsRoomCipher cipher)
    {
        var meta = MlsState.GetMeta(name);
        if (meta is not null && _time.GetUtcNow() - meta.UpdatedAt < SelfUpdateInterval && meta.SentSinceUpdate < SelfUpdateMessages)
        {
            return false;
        }

        if (cipher.Members.Count <= 1)
        {
            // Nobody else holds keys of this group: nothing to heal.
            MlsState.MarkUpdated(name, _time.GetUtcNow());
            return false;
        }

        return true;
    }

    private async Task ProposeLeaveAsync(ServerConnection connection, string name, CancellationToken cancellationToken)
    {
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!MlsState.HasRoom(name))
            {
                return;
            }

            await SyncMlsLockedAsync(connection, name, reconcile: false, cancellationToken).ConfigureAwait(false);
            if (!MlsState.HasRoom(name) || MlsCipher(name).Members.Count <= 1)
            {
                // Removed meanwhile, or alone: there is nobody to commit a removal.
                return;
            }

            var proposal = MlsCipher(name).ProposeLeave();
            await SendPayloadAsync(name, ClientMessageIds.New(), proposal, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    // ---- commits ----

    private readonly record struct AcceptedCommit(SubmitCommitOk Ok, MlsOutgoingCommit Commit);

    /// <summary>
    /// Reads the log, prepares a commit with <paramref name="prepare"/> (given the members the server no longer
    /// routes to, to remove as well; null means nothing to do), submits it for the epoch it applies to, and merges it
    /// once accepted. On EPOCH_CONFLICT the pending commit is discarded, the log read again and the commit prepared
    /// anew. The caller holds the room lock.
    /// </summary>
    private async Task<AcceptedCommit?> CommitLockedAsync(
        string name,
        Func<MlsRoomCipher, IReadOnlyList<string>, MlsOutgoingCommit?> prepare,
        bool pathCommit,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= CommitAttempts; attempt++)
        {
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await SyncMlsLockedAsync(connection, name, reconcile: false, cancellationToken).ConfigureAwait(false);
            var cipher = MlsCipher(name);
            var stale = await StaleMembersAsync(connection, name, cipher, cancellationToken).ConfigureAwait(false);
            MlsOutgoingCommit? commit;
            try
            {
                commit = prepare(cipher, stale);
            }
            catch (MlsRoomException) when (stale.Count > 0)
            {
                // A proposal cached in the group may already remove them; commit without the extra removals.
                commit = prepare(cipher, []);
            }

            if (commit is null)
            {
                return null;
            }

            AfterCommitPrepared?.Invoke(name);
            var submit = new SubmitCommit
            {
                Room = name,
                Epoch = commit.Epoch,
                ClientMessageId = ByteString.CopyFrom(ClientMessageIds.New()),
                Commit = ByteString.CopyFrom(commit.Commit),
            };
            submit.Added.AddRange(commit.Added.Select(a => a.Username));
            submit.Removed.AddRange(commit.Removed);
            if (commit.Welcome is { } welcome)
            {
                submit.Welcomes.AddRange(commit.Added.Select(a => new WelcomeFor { User = a.Username, Welcome = ByteString.CopyFrom(welcome) }));
            }

            SubmitCommitOk ok;
            try
            {
                ok = await SubmitAsync(submit, cancellationToken).ConfigureAwait(false);
            }
            catch (ServerErrorException ex) when (ex.Code == ErrorCode.EpochConflict)
            {
                // Another member's commit won this epoch: read it, then try again on top of it.
                cipher.DiscardPendingCommit();
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 40) * attempt), _time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (ServerErrorException ex) when (!IsTransient(ex))
            {
                cipher.DiscardPendingCommit();
                throw;
            }

            // A transient failure that outlasted the retries leaves the commit pending: the log settles it next time.
            AfterCommitAccepted?.Invoke(name);
            var released = cipher.ConfirmPendingCommit();
            StoreMlsResults(name, released, _time.GetUtcNow(), out _, out _);
            PinMembers(cipher);
            if (pathCommit || commit.Removed.Count > 0)
            {
                MlsState.MarkUpdated(name, _time.GetUtcNow());
            }

            return new AcceptedCommit(ok, commit);
        }

        throw new ChatClientException($"could not change '{DisplayName(name)}': other members kept changing it at the same moment ({CommitAttempts} attempts); try again");
    }

    private async Task<SubmitCommitOk> SubmitAsync(SubmitCommit submit, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                var reply = await connection.RequestAsync(new Frame { SubmitCommit = submit.Clone() }, cancellationToken).ConfigureAwait(false);
                return reply.BodyCase == Frame.BodyOneofCase.SubmitCommitOk ? reply.SubmitCommitOk : throw UnexpectedReply("SubmitCommit");
            }
            catch (Exception ex) when (attempt < SendAttempts && IsTransient(ex))
            {
                // The same client_message_id: a commit stored before the answer was lost comes back as a duplicate.
                await DropConnectionAsync().ConfigureAwait(false);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = Min(delay * 2, MaxBackoff);
            }
        }
    }

    // Group members the server no longer routes to (they left, or a removal was lost): they are removed too.
    private async Task<IReadOnlyList<string>> StaleMembersAsync(ServerConnection connection, string name, MlsRoomCipher cipher, CancellationToken cancellationToken)
    {
        RoomDetail detail;
        try
        {
            var reply = await connection.RequestAsync(new Frame { GetRoom = new GetRoom { Room = name } }, cancellationToken).ConfigureAwait(false);
            if (reply.BodyCase != Frame.BodyOneofCase.RoomDetail)
            {
                return [];
            }

            detail = reply.RoomDetail;
        }
        catch (ServerErrorException ex) when (!IsTransient(ex))
        {
            return [];
        }

        var routed = detail.Members.ToHashSet(StringComparer.Ordinal);
        var me = Account.Username;
        return cipher.Members
            .Select(m => m.Username)
            .Where(u => u != me && !routed.Contains(u) && !cipher.ProposedRemovals.Contains(u))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    // ---- reading the log ----

    /// <summary>
    /// Processes the room's log after the cursor in order through <see cref="MlsRoomCipher.Receive"/>; stores chat
    /// messages (and errors) before acknowledging. A commit that removed this member makes the room inactive. A
    /// pending commit still unresolved after the whole log is one the server never accepted: it is dropped. With
    /// <paramref name="reconcile"/>, proposals left uncommitted (a member left) are committed by this member.
    /// </summary>
    private async Task<int> SyncMlsLockedAsync(ServerConnection connection, string name, bool reconcile, CancellationToken cancellationToken)
    {
        if (!MlsState.HasRoom(name))
        {
            if (MlsState.GetMeta(name) is { InactiveReason: { } reason })
            {
                Warn(reason);
                return 0;
            }

            throw new ClientStateException($"this device holds no keys for the MLS room '{DisplayName(name)}'");
        }

        var cipher = MlsCipher(name);
        var added = 0;
        string? removedBy = null;
        for (var page = 0; page < 100_000 && removedBy is null; page++)
        {
            var after = (ulong)Math.Max(0, RequireRoom(name).LastAckedSeq);
            var reply = await FetchAsync(connection, name, after, cancellationToken).ConfigureAwait(false);
            var highest = after;
            foreach (var message in reply.Messages)
            {
                if (message.Seq <= highest || !string.Equals(message.Room, name, StringComparison.Ordinal) && message.Room.Length != 0)
                {
                    continue;
                }

                var now = _time.GetUtcNow();
                var outcome = cipher.Receive(message.Payload.Span, SenderOf(message), MessageIdOf(message), (long)message.Seq);
                added += StoreMlsResults(name, [outcome.Message], ServerTimeOf(message, now), out var removed, out var commits);
                added += StoreMlsResults(name, outcome.Released, now, out var removedLater, out var moreCommits);
                if (commits || moreCommits)
                {
                    PinMembers(cipher);
                }

                highest = message.Seq;
                removedBy = removed ?? removedLater;
                if (removedBy is not null)
                {
                    break;
                }
            }

            if (highest > after)
            {
                Store.AdvanceAckedSeq(name, (long)highest);
                await AckAsync(connection, name, highest, cancellationToken).ConfigureAwait(false);
            }

            if (!reply.HasMore || highest == after)
            {
                break;
            }
        }

        if (removedBy is not null)
        {
            MarkRemoved(name, removedBy);
            return added;
        }

        if (cipher.HasPendingCommit)
        {
            // Prepared before a crash and never accepted: the log holds neither it nor a commit that beat it.
            cipher.DiscardPendingCommit();
            Warn($"a change to '{DisplayName(name)}' prepared before an interruption never reached the server and was dropped: run it again");
        }

        var requested = TakeCommitRequest(name);
        if (reconcile && (requested || cipher.ProposedRemovals.Count > 0))
        {
            try
            {
                await CommitLockedAsync(
                    name,
                    (c, stale) => stale.Count == 0 && c.ProposedRemovals.Count == 0 ? null : c.PrepareChange([], stale, forcePath: false),
                    pathCommit: true,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (ChatClientException ex) when (!IsTransient(ex))
            {
                // Reading succeeded; committing a departure is left to this or another member's next turn.
                Warn($"could not commit a member's departure from '{DisplayName(name)}': {OneLine(ex)}");
            }
        }

        return added;
    }

    // Stores what the log yielded; returns how many chat messages (or errors) were new. Reports a removal of this member.
    private int StoreMlsResults(string name, IReadOnlyList<MlsReceived> results, DateTimeOffset serverTime, out string? removedBy, out bool commits)
    {
        removedBy = null;
        commits = false;
        var added = 0;
        var now = _time.GetUtcNow();
        foreach (var r in results)
        {
            string? text = null;
            string? error = null;
            switch (r.Kind)
            {
                case MlsReceivedKind.Application:
                    text = r.Text;
                    if (Peers.WarningFor(r.Sender) is { } warning)
                    {
                        Warn(warning);
                    }

                    break;
                case MlsReceivedKind.Error:
                    error = r.Error;
                    Warn($"a message from '{r.Sender}' in '{DisplayName(name)}' (#{r.Seq}) could not be read: {r.Error}");
                    break;
                case MlsReceivedKind.OwnMessage:
                    // Kept at send time; this only fills in a message whose local copy was lost.
                    error = "sent by this account; its text is kept only where it was sent";
                    break;
                case MlsReceivedKind.CommitApplied:
                    commits = true;
                    if (r.RemovedThisMember)
                    {
                        removedBy = r.Sender;
                    }

                    continue;
                default:
                    continue;
            }

            if (Store.TryAddMessage(new StoredMessage(name, r.Seq, r.MessageId, r.Sender, serverTime, now, r.SentAt, text, error, false)))
            {
                added++;
            }
        }

        return added;
    }

    private void MarkRemoved(string name, string removedBy)
    {
        DropCipher(name);
        var reason = removedBy == Account.Username
            ? $"you left '{DisplayName(name)}': its history stays readable here"
            : $"you were removed from '{DisplayName(name)}' by '{removedBy}': its history stays readable here, nothing new can be read or sent";
        MlsState.MarkInactive(name, reason, _time.GetUtcNow());
        Warn(reason);
    }

    // ---- invitations ----

    /// <summary>Joins every MLS room whose Welcome waits for this user, then acknowledges the Welcome. Returns the rooms joined.</summary>
    private async Task<IReadOnlyList<string>> ProcessWelcomesAsync(ServerConnection connection, CancellationToken cancellationToken)
    {
        WelcomeList list;
        try
        {
            var reply = await connection.RequestAsync(new Frame { FetchWelcomes = new FetchWelcomes() }, cancellationToken).ConfigureAwait(false);
            list = reply.BodyCase == Frame.BodyOneofCase.WelcomeList ? reply.WelcomeList : throw UnexpectedReply("FetchWelcomes");
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.UnknownMessage)
        {
            // A server without MLS rooms.
            return [];
        }

        var joined = new List<string>();
        foreach (var welcome in list.Welcomes)
        {
            if (await JoinFromWelcomeAsync(connection, welcome, cancellationToken).ConfigureAwait(false) is { } room)
            {
                joined.Add(room);
            }
        }

        return joined;
    }

    private async Task<string?> JoinFromWelcomeAsync(ServerConnection connection, WelcomeEvent welcome, CancellationToken cancellationToken)
    {
        string? joined = null;
        if (!Names.TryNormalizeRoom(welcome.Room, out var name, out _))
        {
            Warn("an invitation to a room with an invalid name was ignored");
        }
        else
        {
            await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (MlsState.HasRoom(name) && Store.GetRoom(name) is { } record && record.LastAckedSeq < (long)welcome.JoinSeq)
                {
                    // The group held here is older than the invitation: the log before it may remove this member
                    // (removed, then added again), so it is read first.
                    await SyncMlsLockedAsync(connection, name, reconcile: false, cancellationToken).ConfigureAwait(false);
                }

                if (!MlsState.HasRoom(name))
                {
                    joined = TryJoin(name, welcome);
                }
            }
            finally
            {
                _roomLock.Release();
            }
        }

        try
        {
            await connection.RequestAsync(new Frame { AckWelcome = new AckWelcome { Room = welcome.Room, JoinSeq = welcome.JoinSeq } }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerErrorException ex) when (!ex.IsTransient)
        {
            // Acknowledged before, or gone: joining again is prevented by the stored group.
        }

        return joined;
    }

    private string? TryJoin(string name, WelcomeEvent welcome)
    {
        var from = Names.TryNormalizeUser(welcome.From, out var f, out _) ? f : "?";
        MlsRoomCipher cipher;
        try
        {
            cipher = MlsRoomCipher.Join(name, Member, MlsState, new KeyPackagePool(MlsState, Member, _time), welcome.Welcome.Span, _time);
        }
        catch (MlsRoomException ex)
        {
            Warn($"the invitation to '{DisplayName(name)}' from '{from}' could not be used: {ex.Message}");
            return null;
        }

        var now = _time.GetUtcNow();
        DropCipher(name);
        Store.UpsertRoom(new RoomRecord(name, RoomKinds.Mls, null, now, (long)welcome.JoinSeq));
        Store.AdvanceAckedSeq(name, (long)welcome.JoinSeq);
        MlsState.MarkUpdated(name, now);
        lock (_ciphers)
        {
            _ciphers[name] = cipher;
        }

        PinMembers(cipher);
        return name;
    }

    private async Task WaitForWelcomeAsync(string name, string peer, ServerErrorException cause, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
            if (HasActiveMlsRoom(name))
            {
                return;
            }

            delay = Min(delay * 2, TimeSpan.FromSeconds(1));
        }

        throw new ClientStateException($"'{peer}' has started this conversation but their invitation has not arrived yet: try again in a moment", cause);
    }

    // ---- notices pushed by the server ----

    /// <summary>Acts on a pushed notice; returns whether it stored new messages in <paramref name="followed"/>.</summary>
    private async Task<bool> HandleNoticeAsync(ServerConnection connection, Frame notice, string? followed, CancellationToken cancellationToken)
    {
        try
        {
            switch (notice.BodyCase)
            {
                case Frame.BodyOneofCase.KeyPackagesLow:
                    await TopUpKeyPackagesAsync(connection, cancellationToken).ConfigureAwait(false);
                    return false;
                case Frame.BodyOneofCase.WelcomeEvent:
                    var joined = await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
                    return followed is not null && joined.Contains(followed)
                        && await SyncRoomAsync(followed, cancellationToken).ConfigureAwait(false) > 0;
                case Frame.BodyOneofCase.CommitRequested:
                    if (!Names.TryNormalizeRoom(notice.CommitRequested.Room, out var room, out _) || !MlsState.HasRoom(room))
                    {
                        return false;
                    }

                    lock (_commitRequests)
                    {
                        _commitRequests.Add(room);
                    }

                    var stored = await SyncRoomAsync(room, cancellationToken).ConfigureAwait(false);
                    return room == followed && stored > 0;
                default:
                    return false;
            }
        }
        catch (ChatClientException ex) when (!IsTransient(ex))
        {
            Warn(OneLine(ex));
            return false;
        }
    }

    /// <summary>Acts on the notices pushed since the last look (a one-shot command has no loop that waits for them).</summary>
    private async Task DrainNoticesAsync(ServerConnection connection, CancellationToken cancellationToken)
    {
        // Handling a notice syncs a room, which drains notices again: one drain at a time.
        if (Interlocked.Exchange(ref _draining, 1) == 1)
        {
            return;
        }

        try
        {
            while (connection.Notices.TryRead(out var notice))
            {
                await HandleNoticeAsync(connection, notice, null, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _draining, 0);
        }
    }

    private bool TakeCommitRequest(string name)
    {
        lock (_commitRequests)
        {
            return _commitRequests.Remove(name);
        }
    }

    // ---- KeyPackages ----

    /// <summary>Uploads fresh KeyPackages (and a last-resort one) when the server holds fewer than half the target.</summary>
    private async Task TopUpKeyPackagesAsync(ServerConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await connection.RequestAsync(new Frame { KeyPackageCount = new KeyPackageCount() }, cancellationToken).ConfigureAwait(false);
            if (reply.BodyCase != Frame.BodyOneofCase.KeyPackageCountOk)
            {
                return;
            }

            var count = reply.KeyPackageCountOk;
            if (count.OneTime * 2 >= KeyPackageTarget && count.HasLastResort)
            {
                return;
            }

            var pool = new KeyPackagePool(MlsState, Member, _time);
            var missing = (int)Math.Max(0, KeyPackageTarget - (long)count.OneTime);

            // The server already holds the ones it counts: only new ones are uploaded.
            var created = pool.TopUp(pool.OneTimeCount + missing);
            var upload = new UploadKeyPackages();
            upload.KeyPackages.AddRange(created.Where(k => !k.LastResort).Select(k => ByteString.CopyFrom(k.KeyPackage)));
            var lastResort = created.FirstOrDefault(k => k.LastResort) ?? (count.HasLastResort ? null : pool.All().FirstOrDefault(k => k.LastResort));
            if (lastResort is not null)
            {
                upload.LastResort = ByteString.CopyFrom(lastResort.KeyPackage);
            }

            if (upload.KeyPackages.Count == 0 && upload.LastResort.IsEmpty)
            {
                return;
            }

            await connection.RequestAsync(new Frame { UploadKeyPackages = upload }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.UnknownMessage)
        {
            // A server without MLS rooms.
        }
        catch (ServerErrorException ex) when (!ex.IsTransient)
        {
            Warn("could not publish this device's invitation keys (KeyPackages): " + OneLine(ex));
        }
    }

    private async Task<byte[]> FetchKeyPackageAsync(ServerConnection connection, string user, byte[] expectedKey, CancellationToken cancellationToken)
    {
        Frame reply;
        try
        {
            reply = await connection.RequestAsync(new Frame { FetchKeyPackage = new FetchKeyPackage { User = user } }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.UnknownUser)
        {
            throw new ChatClientException($"there is no user '{user}' on this server", ex);
        }

        if (reply.BodyCase != Frame.BodyOneofCase.FetchKeyPackageOk)
        {
            throw UnexpectedReply("FetchKeyPackage");
        }

        var bytes = reply.FetchKeyPackageOk.KeyPackage.ToByteArray();
        KeyPackage keyPackage;
        try
        {
            keyPackage = KeyPackage.FromBytes(bytes);
        }
        catch (MlsException ex)
        {
            throw new MlsRoomException($"the server handed out a damaged KeyPackage for '{user}'", ex);
        }

        // The KeyPackage must be this user's, signed with the device key the directory (and the pin) names.
        if (MlsMember.UsernameOf(keyPackage.LeafNode.Credential) != user
            || !CryptographicOperations.FixedTimeEquals(keyPackage.LeafNode.SignatureKey.Span, expectedKey))
        {
            throw new MlsRoomException($"the KeyPackage the server handed out for '{user}' is not signed with their device key: refusing to add it");
        }

        return bytes;
    }

    // ---- helpers ----

    /// <summary>For tests: the room's MLS group as this device holds it.</summary>
    internal MlsRoomCipher MlsRoomFor(string room) => MlsCipher(ResolveRoomName(room));

    private MlsRoomCipher MlsCipher(string name) =>
        GetCipher(name) as MlsRoomCipher ?? throw new ClientStateException($"'{DisplayName(name)}' is a shared-key room, not an MLS room");

    private MlsRoomCipher LoadMlsCipher(string name)
    {
        if (!MlsState.HasRoom(name))
        {
            throw new ClientStateException(MlsState.GetMeta(name)?.InactiveReason
                ?? $"this device holds no keys for the MLS room '{DisplayName(name)}'");
        }

        return MlsRoomCipher.Load(name, Member, MlsState, _time);
    }

    private void RequireMlsRoom(string name, string action)
    {
        var record = RequireRoom(name);
        if (record.Kind != RoomKinds.Mls)
        {
            throw new ClientStateException($"'{name}' is a shared-key room: members {action} themselves by sharing (or changing) its key");
        }

        _ = MlsCipher(name);
    }

    private bool HasActiveMlsRoom(string name) => Store.GetRoom(name) is { Kind: RoomKinds.Mls } && MlsState.HasRoom(name);

    private static bool IsMember(MlsRoomCipher cipher, string user) => cipher.Members.Any(m => m.Username == user);

    private static DateTimeOffset ServerTime(long unixMilliseconds, DateTimeOffset fallback)
    {
        try
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
        }
        catch (ArgumentOutOfRangeException)
        {
            return fallback;
        }
    }
}
