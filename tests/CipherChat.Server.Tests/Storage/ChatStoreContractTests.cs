using CipherChat.Server.Sqlite;
using CipherChat.Server.Storage;
using CipherChat.Server.Tests.Support;

namespace CipherChat.Server.Tests.Storage;

/// <summary>The behaviour every <see cref="IChatStore"/> backend must have. Each backend runs all of it.</summary>
public abstract partial class ChatStoreContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    protected IChatStore Store { get; private set; } = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<IChatStore> CreateStoreAsync();

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync();

    public virtual async ValueTask DisposeAsync() => await Store.DisposeAsync();

    private static byte[] Bytes(byte value, int length = 16) => Enumerable.Repeat(value, length).ToArray();

    private async Task UserAsync(string name) =>
        Assert.Equal(RegisterStatus.Created, await Store.RegisterUserAsync(name, Bytes(9, 32), null, T0, Ct));

    private async Task MemberAsync(string room, string user, byte key = 1)
    {
        var outcome = await Store.JoinRoomAsync(room, RoomKind.Psk, Bytes(key), user, T0, Ct);
        Assert.True(outcome.Succeeded);
    }

    private NewMessage Message(string room, string sender, byte id, string text = "x") =>
        new(room, sender, Bytes(id), System.Text.Encoding.UTF8.GetBytes(text), T0);

    [Fact]
    public async Task Registered_user_is_found_with_its_key()
    {
        await UserAsync("alice");
        var user = await Store.FindUserAsync("alice", Ct);
        Assert.NotNull(user);
        Assert.Equal(Bytes(9, 32), user.PublicKey.ToArray());
        Assert.Null(await Store.FindUserAsync("bob", Ct));
    }

    [Fact]
    public async Task A_taken_name_is_refused()
    {
        await UserAsync("alice");
        Assert.Equal(RegisterStatus.NameTaken, await Store.RegisterUserAsync("alice", Bytes(8, 32), null, T0, Ct));
    }

    [Fact]
    public async Task An_invite_is_used_once_and_unknown_invites_fail()
    {
        var hash = Bytes(5, 32);
        await Store.AddInviteAsync(hash, T0, Ct);
        Assert.Equal(RegisterStatus.InvalidInvite, await Store.RegisterUserAsync("eve", Bytes(9, 32), Bytes(6, 32), T0, Ct));
        Assert.Equal(RegisterStatus.Created, await Store.RegisterUserAsync("alice", Bytes(9, 32), hash, T0, Ct));
        Assert.Equal(RegisterStatus.InvalidInvite, await Store.RegisterUserAsync("bob", Bytes(9, 32), hash, T0, Ct));
        Assert.Null(await Store.FindUserAsync("eve", Ct));
        Assert.Null(await Store.FindUserAsync("bob", Ct));
    }

    [Fact]
    public async Task A_name_taken_registration_does_not_consume_the_invite()
    {
        await UserAsync("alice");
        var hash = Bytes(5, 32);
        await Store.AddInviteAsync(hash, T0, Ct);
        Assert.Equal(RegisterStatus.NameTaken, await Store.RegisterUserAsync("alice", Bytes(9, 32), hash, T0, Ct));
        Assert.Equal(RegisterStatus.Created, await Store.RegisterUserAsync("bob", Bytes(9, 32), hash, T0, Ct));
    }

    [Fact]
    public async Task First_join_creates_the_room_and_later_joins_need_the_same_key_check()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        var first = await Store.JoinRoomAsync("friends", RoomKind.Psk, Bytes(1), "alice", T0, Ct);
        Assert.Equal(JoinStatus.Created, first.Status);
        Assert.Equal(JoinStatus.WrongKey, (await Store.JoinRoomAsync("friends", RoomKind.Psk, Bytes(2), "bob", T0, Ct)).Status);
        Assert.Equal(JoinStatus.KindMismatch, (await Store.JoinRoomAsync("friends", RoomKind.Mls, Bytes(1), "bob", T0, Ct)).Status);
        Assert.Equal(JoinStatus.Joined, (await Store.JoinRoomAsync("friends", RoomKind.Psk, Bytes(1), "bob", T0, Ct)).Status);
        Assert.Equal(JoinStatus.Joined, (await Store.JoinRoomAsync("friends", RoomKind.Psk, Bytes(1), "bob", T0, Ct)).Status);
        Assert.Equal(["friends"], (await Store.ListRoomsAsync("bob", Ct)).Select(r => r.Name));
    }

    [Fact]
    public async Task Appends_get_gap_free_sequence_numbers_per_room()
    {
        await UserAsync("alice");
        await MemberAsync("a", "alice");
        await MemberAsync("b", "alice");
        var seqs = new List<ulong>();
        for (byte i = 1; i <= 5; i++)
        {
            seqs.Add((await Store.AppendMessageAsync(Message("a", "alice", i), Ct)).Seq);
        }

        Assert.Equal([1UL, 2, 3, 4, 5], seqs);
        Assert.Equal(1UL, (await Store.AppendMessageAsync(Message("b", "alice", 1), Ct)).Seq);
        Assert.Equal(5UL, (await Store.ListRoomsAsync("alice", Ct)).Single(r => r.Name == "a").LastSeq);
    }

    [Fact]
    public async Task A_repeated_client_message_id_returns_the_original()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await MemberAsync("a", "alice");
        await MemberAsync("a", "bob");
        var first = await Store.AppendMessageAsync(Message("a", "alice", 7, "one"), Ct);
        var again = await Store.AppendMessageAsync(Message("a", "alice", 7, "one") with { ServerTime = T0.AddMinutes(1) }, Ct);
        var otherSender = await Store.AppendMessageAsync(Message("a", "bob", 7, "two"), Ct);

        Assert.Equal(AppendStatus.Stored, first.Status);
        Assert.Equal(AppendStatus.Duplicate, again.Status);
        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(first.ServerTime, again.ServerTime);
        Assert.Equal(AppendStatus.Stored, otherSender.Status);
        Assert.Equal(2UL, otherSender.Seq);
        Assert.Equal(2, (await Store.FetchMessagesAsync("a", "alice", 0, 10, Ct))!.Messages.Count);
    }

    [Fact]
    public async Task Non_members_cannot_append_fetch_or_ack()
    {
        await UserAsync("alice");
        await UserAsync("mallory");
        await MemberAsync("a", "alice");
        Assert.Equal(AppendStatus.NotAMember, (await Store.AppendMessageAsync(Message("a", "mallory", 1), Ct)).Status);
        Assert.Equal(AppendStatus.NotAMember, (await Store.AppendMessageAsync(Message("nowhere", "alice", 1), Ct)).Status);
        Assert.Null(await Store.FetchMessagesAsync("a", "mallory", 0, 10, Ct));
        Assert.Null(await Store.AckAsync("a", "mallory", 1, Ct));
    }

    [Fact]
    public async Task Fetch_pages_in_order_with_has_more()
    {
        await UserAsync("alice");
        await MemberAsync("a", "alice");
        for (byte i = 1; i <= 7; i++)
        {
            await Store.AppendMessageAsync(Message("a", "alice", i, "m" + i), Ct);
        }

        var page1 = (await Store.FetchMessagesAsync("a", "alice", 0, 3, Ct))!;
        var page2 = (await Store.FetchMessagesAsync("a", "alice", 3, 3, Ct))!;
        var page3 = (await Store.FetchMessagesAsync("a", "alice", 6, 3, Ct))!;
        var none = (await Store.FetchMessagesAsync("a", "alice", 7, 3, Ct))!;

        Assert.Equal([1UL, 2, 3], page1.Messages.Select(m => m.Seq));
        Assert.True(page1.HasMore);
        Assert.Equal([4UL, 5, 6], page2.Messages.Select(m => m.Seq));
        Assert.True(page2.HasMore);
        Assert.Equal([7UL], page3.Messages.Select(m => m.Seq));
        Assert.False(page3.HasMore);
        Assert.Empty(none.Messages);
        Assert.Equal("m5", System.Text.Encoding.UTF8.GetString(page2.Messages[1].Payload.Span));
        Assert.Equal("alice", page2.Messages[1].Sender);
        Assert.Equal(Bytes(5), page2.Messages[1].ClientMessageId.ToArray());
        Assert.Equal(T0, page2.Messages[1].ServerTime);
    }

    [Fact]
    public async Task Ack_moves_forward_only_and_not_past_the_last_message()
    {
        await UserAsync("alice");
        await MemberAsync("a", "alice");
        for (byte i = 1; i <= 3; i++)
        {
            await Store.AppendMessageAsync(Message("a", "alice", i), Ct);
        }

        Assert.Equal(2UL, await Store.AckAsync("a", "alice", 2, Ct));
        Assert.Equal(2UL, await Store.AckAsync("a", "alice", 1, Ct));
        Assert.Equal(3UL, await Store.AckAsync("a", "alice", ulong.MaxValue, Ct));
        Assert.Equal(3UL, (await Store.ListRoomsAsync("alice", Ct)).Single().ReadSeq);
    }

    [Fact]
    public async Task Leaving_ends_membership()
    {
        await UserAsync("alice");
        await MemberAsync("a", "alice");
        Assert.True(await Store.LeaveRoomAsync("a", "alice", Ct));
        Assert.False(await Store.LeaveRoomAsync("a", "alice", Ct));
        Assert.Empty(await Store.ListRoomsAsync("alice", Ct));
        Assert.Equal(AppendStatus.NotAMember, (await Store.AppendMessageAsync(Message("a", "alice", 1), Ct)).Status);
    }

    [Fact]
    public async Task Concurrent_appends_to_one_room_stay_gap_free()
    {
        await UserAsync("alice");
        await MemberAsync("a", "alice");
        var tasks = Enumerable.Range(1, 40).Select(i => Store.AppendMessageAsync(Message("a", "alice", (byte)i), Ct).AsTask());
        var seqs = (await Task.WhenAll(tasks)).Select(o => o.Seq).Order().ToArray();
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (ulong)i), seqs);
    }
}

public sealed class InMemoryChatStoreContractTests : ChatStoreContractTests
{
    protected override Task<IChatStore> CreateStoreAsync() => Task.FromResult<IChatStore>(new InMemoryChatStore());
}

public sealed class SqliteChatStoreContractTests : ChatStoreContractTests
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IChatStore> CreateStoreAsync() => await SqliteChatStore.OpenAsync(_directory.Path, TestContext.Current.CancellationToken);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
