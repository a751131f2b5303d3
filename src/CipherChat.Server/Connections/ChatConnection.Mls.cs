using CipherChat.Mls;
using CipherChat.Mls.Messages;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Storage;
using Google.Protobuf;
using StoreRoomKind = CipherChat.Server.Storage.RoomKind;

namespace CipherChat.Server.Connections;

/// <summary>The MLS delivery service requests (docs/PROTOCOL.md, "MLS rooms").</summary>
internal sealed partial class ChatConnection
{
    /// <summary>Handles an MLS request; false when the frame is not one.</summary>
    private async ValueTask<bool> HandleMlsRequestAsync(Frame frame)
    {
        var requestId = frame.RequestId;
        switch (frame.BodyCase)
        {
            case Frame.BodyOneofCase.UploadKeyPackages:
                await UploadKeyPackagesAsync(requestId, frame.UploadKeyPackages).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.FetchKeyPackage:
                await FetchKeyPackageAsync(requestId, frame.FetchKeyPackage).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.KeyPackageCount:
                var counts = await _core.Store.CountKeyPackagesAsync(_user, CancellationToken.None).ConfigureAwait(false);
                Reply(requestId, new Frame { KeyPackageCountOk = new KeyPackageCountOk { OneTime = (uint)counts.OneTime, HasLastResort = counts.HasLastResort } });
                return true;
            case Frame.BodyOneofCase.CreateRoom:
                await CreateRoomAsync(requestId, frame.CreateRoom).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.SubmitCommit:
                await SubmitCommitAsync(requestId, frame.SubmitCommit).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.FetchWelcomes:
                await FetchWelcomesAsync(requestId).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.AckWelcome:
                await AckWelcomeAsync(requestId, frame.AckWelcome).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.LookupUser:
                await LookupUserAsync(requestId, frame.LookupUser).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.GetRoom:
                await GetRoomAsync(requestId, frame.GetRoom).ConfigureAwait(false);
                return true;
            case Frame.BodyOneofCase.SetRoomPolicy:
                await SetRoomPolicyAsync(requestId, frame.SetRoomPolicy).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    private bool TryUser(string input, ulong requestId, out string user)
    {
        if (NameRules.TryNormalizeUsername(input, out var name))
        {
            user = name;
            return true;
        }

        user = string.Empty;
        Refuse(ErrorCode.InvalidUsername, "usernames are 1-32 characters of a-z 0-9 . _ -", requestId);
        return false;
    }

    // ---- Key directory -----------------------------------------------------------------------

    private async ValueTask UploadKeyPackagesAsync(ulong requestId, UploadKeyPackages request)
    {
        if (request.KeyPackages.Count > MlsChecks.MaxKeyPackages)
        {
            Refuse(ErrorCode.InvalidRequest, "at most 100 KeyPackages per upload", requestId);
            return;
        }

        var account = await _core.Store.FindUserAsync(_user, CancellationToken.None).ConfigureAwait(false);
        if (account is null)
        {
            Refuse(ErrorCode.UnknownUser, "no such user on this server", requestId);
            return;
        }

        var now = Now;
        var oneTime = new List<NewKeyPackage>(request.KeyPackages.Count);
        foreach (var entry in request.KeyPackages)
        {
            var checkedEntry = MlsChecks.ValidateKeyPackage(entry.Span, _user, account.PublicKey.Span, now);
            if (checkedEntry is null)
            {
                Refuse(ErrorCode.InvalidKeyPackage, "not a valid suite-1 KeyPackage of your username and device key", requestId);
                return;
            }

            oneTime.Add(checkedEntry);
        }

        NewKeyPackage? lastResort = null;
        if (!request.LastResort.IsEmpty)
        {
            lastResort = MlsChecks.ValidateKeyPackage(request.LastResort.Span, _user, account.PublicKey.Span, now);
            if (lastResort is null)
            {
                Refuse(ErrorCode.InvalidKeyPackage, "not a valid suite-1 KeyPackage of your username and device key", requestId);
                return;
            }
        }

        var outcome = await _core.Store.UploadKeyPackagesAsync(_user, oneTime, lastResort, MlsChecks.MaxKeyPackages, now, CancellationToken.None).ConfigureAwait(false);
        if (outcome.Status == KeyPackageUploadStatus.LimitExceeded)
        {
            Refuse(ErrorCode.KeyPackageLimit, "at most 100 one-time KeyPackages are stored per user", requestId);
            return;
        }

        Reply(requestId, new Frame
        {
            UploadKeyPackagesOk = new UploadKeyPackagesOk { OneTime = (uint)outcome.Counts.OneTime, HasLastResort = outcome.Counts.HasLastResort },
        });
    }

    private async ValueTask FetchKeyPackageAsync(ulong requestId, FetchKeyPackage request)
    {
        if (!TryUser(request.User, requestId, out var user))
        {
            return;
        }

        // Each fetch uses up another user's one-time KeyPackage: it shares the sending budget.
        if (!_sendBucket.TryTake())
        {
            Refuse(ErrorCode.RateLimited, "slow down", requestId);
            return;
        }

        if (await _core.Store.FindUserAsync(user, CancellationToken.None).ConfigureAwait(false) is null)
        {
            Refuse(ErrorCode.UnknownUser, "no such user on this server", requestId);
            return;
        }

        var taken = await _core.Store.TakeKeyPackageAsync(user, CancellationToken.None).ConfigureAwait(false);
        if (taken is null)
        {
            Refuse(ErrorCode.NoKeyPackage, "this user has no KeyPackage on the server", requestId);
            return;
        }

        Reply(requestId, new Frame
        {
            FetchKeyPackageOk = new FetchKeyPackageOk { User = user, KeyPackage = ByteString.CopyFrom(taken.Data.Span), LastResort = taken.LastResort },
        });

        if (!taken.LastResort && taken.RemainingOneTime < MlsChecks.LowKeyPackages)
        {
            _core.Hub.DeliverToUser(user, new Frame { KeyPackagesLow = new KeyPackagesLow { OneTime = (uint)taken.RemainingOneTime } });
        }
    }

    // ---- Rooms -------------------------------------------------------------------------------

    private async ValueTask CreateRoomAsync(ulong requestId, CreateRoom request)
    {
        string room;
        if (request.Room is { Length: > 0 } && request.Room[0] == '@')
        {
            if (!NameRules.TryNormalizeDirectRoomName(request.Room, out var direct, out var first, out var second))
            {
                Refuse(ErrorCode.InvalidRoomName, "a direct room is \"@\" and two different usernames, sorted, joined by \"+\"", requestId);
                return;
            }

            var other = first == _user ? second : second == _user ? first : null;
            if (other is null)
            {
                Refuse(ErrorCode.NotAllowed, "a direct room is created by one of its two users", requestId);
                return;
            }

            if (await _core.Store.FindUserAsync(other, CancellationToken.None).ConfigureAwait(false) is null)
            {
                Refuse(ErrorCode.UnknownUser, "no such user on this server", requestId);
                return;
            }

            room = direct;
        }
        else if (!TryRoom(request.Room, requestId, out room))
        {
            return;
        }

        if (request.GroupId.Length is < MlsChecks.MinGroupIdBytes or > MlsChecks.MaxGroupIdBytes)
        {
            Refuse(ErrorCode.InvalidRequest, "group id must be 16-32 bytes", requestId);
            return;
        }

        var adminsOnly = request.Policy?.AdminsOnlyMembership ?? false;
        var outcome = await _core.Store.CreateMlsRoomAsync(room, request.GroupId.ToByteArray(), adminsOnly, _user, Now, CancellationToken.None).ConfigureAwait(false);
        if (outcome.Status == CreateRoomStatus.Exists)
        {
            Refuse(ErrorCode.RoomExists, "a room with this name exists", requestId);
            return;
        }

        ServerLog.RoomCreated(_core.Logger, room);
        _core.Hub.UserJoined(_user, room);
        Reply(requestId, new Frame { CreateRoomOk = new CreateRoomOk { Room = ToInfo(outcome.Room!) } });
    }

    private async ValueTask SubmitCommitAsync(ulong requestId, SubmitCommit request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        if (request.ClientMessageId.Length != ProtocolLimits.ClientMessageIdBytes)
        {
            Refuse(ErrorCode.InvalidRequest, "client message id must be 16 bytes", requestId);
            return;
        }

        var maxMlsBytes = _options.MaxFrameBytes - MlsChecks.EnvelopeReserveBytes;
        if (request.Commit.Length > maxMlsBytes)
        {
            Refuse(ErrorCode.MessageTooLarge, "too large", requestId);
            return;
        }

        if (!MlsChecks.IsCommitFor(request.Commit.Span, request.Epoch))
        {
            Refuse(ErrorCode.InvalidRequest, "commit must be an MLSMessage with a PublicMessage commit for the given epoch", requestId);
            return;
        }

        if (request.Added.Count > MlsChecks.MaxMembershipChanges || request.Removed.Count > MlsChecks.MaxMembershipChanges || request.Welcomes.Count > MlsChecks.MaxMembershipChanges)
        {
            Refuse(ErrorCode.InvalidRequest, "at most 100 users added or removed per commit", requestId);
            return;
        }

        var added = new List<string>(request.Added.Count);
        var removed = new List<string>(request.Removed.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (input, list) in request.Added.Select(a => (a, added)).Concat(request.Removed.Select(r => (r, removed))))
        {
            if (!TryUser(input, requestId, out var user))
            {
                return;
            }

            if (!seen.Add(user))
            {
                Refuse(ErrorCode.InvalidRequest, "a user appears twice in added and removed", requestId);
                return;
            }

            list.Add(user);
        }

        if (NameRules.TryNormalizeDirectRoomName(room, out _, out var first, out var second) && added.Any(u => u != first && u != second))
        {
            Refuse(ErrorCode.NotAllowed, "a direct room has no other members", requestId);
            return;
        }

        var welcomes = new List<NewWelcome>(request.Welcomes.Count);
        var welcomed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var welcome in request.Welcomes)
        {
            if (!TryUser(welcome.User, requestId, out var user))
            {
                return;
            }

            if (!added.Contains(user) || !welcomed.Add(user))
            {
                Refuse(ErrorCode.InvalidRequest, "each Welcome is for one added user", requestId);
                return;
            }

            if (welcome.Welcome.Length > maxMlsBytes)
            {
                Refuse(ErrorCode.MessageTooLarge, "too large", requestId);
                return;
            }

            if (!IsWelcome(welcome.Welcome.Span))
            {
                Refuse(ErrorCode.InvalidRequest, "a Welcome must be an MLSMessage carrying a Welcome", requestId);
                return;
            }

            welcomes.Add(new NewWelcome(user, welcome.Welcome.ToByteArray()));
        }

        var commit = new NewCommit(room, _user, request.ClientMessageId.ToByteArray(), request.Epoch, request.Commit.ToByteArray(), added, removed, welcomes, Now);
        var outcome = await _core.Hub.CommitAsync(commit, this, CancellationToken.None).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case CommitStatus.Stored:
            case CommitStatus.Duplicate:
                Reply(requestId, new Frame
                {
                    SubmitCommitOk = new SubmitCommitOk
                    {
                        Room = room,
                        Seq = outcome.Seq,
                        NewEpoch = outcome.Epoch,
                        ServerTime = outcome.ServerTime.ToUnixTimeMilliseconds(),
                        Duplicate = outcome.Status == CommitStatus.Duplicate,
                    },
                });
                return;
            case CommitStatus.EpochConflict:
                ServerLog.RequestRefused(_core.Logger, _id, ErrorCode.EpochConflict);
                var conflict = Frames.Error(ErrorCode.EpochConflict, "the room is at another epoch", requestId);
                conflict.Error.CurrentEpoch = outcome.Epoch;
                Enqueue(conflict);
                return;
            case CommitStatus.NotMls:
                Refuse(ErrorCode.RoomKindMismatch, "not an MLS room", requestId);
                return;
            case CommitStatus.NotAllowed:
                Refuse(ErrorCode.NotAllowed, "only admins may add or remove members of this room", requestId);
                return;
            case CommitStatus.UnknownUser:
                Refuse(ErrorCode.UnknownUser, "an added user is not registered", requestId);
                return;
            case CommitStatus.AlreadyMember:
                Refuse(ErrorCode.InvalidRequest, "an added user is a member already", requestId);
                return;
            case CommitStatus.NotRemovable:
                Refuse(ErrorCode.InvalidRequest, "a removed user is not a member", requestId);
                return;
            case CommitStatus.IdInUse:
                Refuse(ErrorCode.InvalidRequest, "this client message id names another message", requestId);
                return;
            default:
                Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
                return;
        }
    }

    private static bool IsWelcome(ReadOnlySpan<byte> data)
    {
        try
        {
            return MlsMessage.FromBytes(data).Body is Welcome;
        }
        catch (MlsException)
        {
            return false;
        }
    }

    private async ValueTask FetchWelcomesAsync(ulong requestId)
    {
        var welcomes = await _core.Store.ListWelcomesAsync(_user, CancellationToken.None).ConfigureAwait(false);

        // Oldest first, as many as fit in one frame; the rest follow once these are acknowledged.
        var list = new WelcomeList();
        var budget = _options.MaxFrameBytes - 128;
        var used = 0;
        foreach (var welcome in welcomes)
        {
            var entry = ToWelcomeEvent(welcome);
            var size = 1 + CodedOutputStream.ComputeMessageSize(entry);
            if (list.Welcomes.Count > 0 && used + size > budget)
            {
                break;
            }

            used += size;
            list.Welcomes.Add(entry);
        }

        Reply(requestId, new Frame { WelcomeList = list });
    }

    private static WelcomeEvent ToWelcomeEvent(StoredWelcome welcome) => new()
    {
        Room = welcome.Room,
        From = welcome.From,
        Welcome = UnsafeByteOperations.UnsafeWrap(welcome.Welcome),
        JoinSeq = welcome.JoinSeq,
        ServerTime = welcome.ServerTime.ToUnixTimeMilliseconds(),
    };

    private async ValueTask AckWelcomeAsync(ulong requestId, AckWelcome request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        // Acknowledging twice is harmless: the Welcome is gone either way.
        await _core.Store.AckWelcomeAsync(_user, room, request.JoinSeq, CancellationToken.None).ConfigureAwait(false);
        Reply(requestId, new Frame { AckWelcomeOk = new AckWelcomeOk { Room = room } });
    }

    private async ValueTask LookupUserAsync(ulong requestId, LookupUser request)
    {
        if (!TryUser(request.User, requestId, out var user))
        {
            return;
        }

        var account = await _core.Store.FindUserAsync(user, CancellationToken.None).ConfigureAwait(false);
        if (account is null)
        {
            Refuse(ErrorCode.UnknownUser, "no such user on this server", requestId);
            return;
        }

        Reply(requestId, new Frame
        {
            LookupUserOk = new LookupUserOk
            {
                User = account.Username,
                Ed25519PublicKey = ByteString.CopyFrom(account.PublicKey.Span),
                RegisteredAt = account.CreatedAt.ToUnixTimeMilliseconds(),
            },
        });
    }

    private async ValueTask GetRoomAsync(ulong requestId, GetRoom request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        var detail = await _core.Store.GetRoomDetailAsync(room, _user, CancellationToken.None).ConfigureAwait(false);
        if (detail is null)
        {
            Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
            return;
        }

        var reply = new RoomDetail { Room = ToInfo(detail.Room) };
        reply.Members.AddRange(detail.Members);
        reply.Admins.AddRange(detail.Admins);
        Reply(requestId, new Frame { RoomDetail = reply });
    }

    private async ValueTask SetRoomPolicyAsync(ulong requestId, SetRoomPolicy request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        var outcome = await _core.Store.SetRoomPolicyAsync(room, _user, request.Policy?.AdminsOnlyMembership ?? false, CancellationToken.None).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case PolicyStatus.Updated:
                Reply(requestId, new Frame { SetRoomPolicyOk = new SetRoomPolicyOk { Room = ToInfo(outcome.Room!) } });
                return;
            case PolicyStatus.NotAllowed:
                Refuse(ErrorCode.NotAllowed, "only admins may change the room's policy", requestId);
                return;
            case PolicyStatus.NotMls:
                Refuse(ErrorCode.RoomKindMismatch, "not an MLS room", requestId);
                return;
            default:
                Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
                return;
        }
    }

    // ---- Leaving -----------------------------------------------------------------------------

    /// <summary>Whether the user is a member of <paramref name="room"/> and it is an MLS room.</summary>
    private async ValueTask<bool> IsMlsMemberAsync(string room) =>
        (await _core.Store.GetRoomDetailAsync(room, _user, CancellationToken.None).ConfigureAwait(false))?.Room.Kind == StoreRoomKind.Mls;

    /// <summary>After a member left an MLS room: asks the online members to commit its Remove.</summary>
    private void RequestCommit(string room) =>
        _core.Hub.DeliverToRoom(room, new Frame { CommitRequested = new CommitRequested { Room = room } });
}
