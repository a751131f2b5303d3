using System.Security.Cryptography;
using System.Text;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;
using CipherChat.Protocol.V1;
using Google.Protobuf;

namespace CipherChat.Client.Tests.Integration;

/// <summary>Hostile input, identities and crash recovery of MLS rooms, against a real server in this process.</summary>
public sealed class MlsSecurityTests : ServerWithUsers
{
    private async Task<(TestUser Alice, TestUser Bob, TestUser Carol)> RoomOfThreeAsync(string room)
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var carol = await UserAsync("carol");
        await alice.Client.CreateRoomAsync(room, cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync(room, "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync(room, "carol", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (alice, bob, carol);
    }

    private static async Task<SendOk> RawSendAsync(TestUser user, string room, byte[] payload)
    {
        var connection = await user.Client.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        var reply = await connection.RequestAsync(new Frame
        {
            Send = new Send
            {
                Room = room,
                ClientMessageId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
                Payload = ByteString.CopyFrom(payload),
            },
        }, cancellationToken: TestContext.Current.CancellationToken);
        return reply.SendOk;
    }

    [Fact(Timeout = Timeout)]
    public async Task Replayed_and_tampered_ciphertexts_are_rejected()
    {
        var (alice, bob, carol) = await RoomOfThreeAsync("lab");
        await alice.Client.SendAsync("lab", "the original", cancellationToken: TestContext.Current.CancellationToken);
        var original = (await MlsRoomTests.FetchAllAsync(alice, "lab")).Last().Payload.ToByteArray();

        // The server (or anyone who can send) stores the same ciphertext again, and an altered copy.
        await RawSendAsync(alice, "lab", original);
        var tampered = (byte[])original.Clone();
        tampered[^5] ^= 0x40;
        await RawSendAsync(alice, "lab", tampered);
        await RawSendAsync(alice, "lab", Encoding.UTF8.GetBytes("not MLS at all"));

        await bob.Client.SyncRoomAsync("lab", cancellationToken: TestContext.Current.CancellationToken);
        var messages = bob.Messages("lab");
        Assert.Single(messages, m => m.Text == "the original");
        var errors = messages.Where(m => m.Error is not null).ToList();
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.Null(e.Text));
        Assert.Equal(3, bob.Client.TakeWarnings().Count(w => w.Contains("could not be read", StringComparison.Ordinal)));

        // The room still works after the garbage.
        await carol.Client.SendAsync("lab", "still fine", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncRoomAsync("lab", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("still fine", bob.Texts("lab"));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_forged_sender_is_rejected()
    {
        var (alice, bob, carol) = await RoomOfThreeAsync("lab");

        // Alice's device seals a message; carol (a member, with the server's help) delivers it as her own.
        var payload = alice.Client.MlsRoomFor("lab").Seal(new OutgoingContent(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), "alice", DateTimeOffset.Now, "words put in alice's mouth"), DateTimeOffset.UtcNow);
        await RawSendAsync(carol, "lab", payload);

        await bob.Client.SyncRoomAsync("lab", cancellationToken: TestContext.Current.CancellationToken);
        var message = Assert.Single(bob.Messages("lab"));
        Assert.Equal("carol", message.Sender);
        Assert.Null(message.Text);
        Assert.Contains("forged sender", message.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = Timeout)]
    public async Task Direct_messages_work_both_ways()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        Assert.Equal("@alice+bob", alice.Client.ResolveRoomName("@bob"));
        Assert.Equal("@alice+bob", bob.Client.ResolveRoomName("@Alice"));

        await alice.Client.SendDirectAsync("bob", "hi bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["hi bob"], bob.Texts("@alice"));

        await bob.Client.SendDirectAsync("alice", "hi alice", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SendAsync("@alice", "twice", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SyncRoomAsync("@bob", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["hi bob", "hi alice", "twice"], alice.Texts("@bob"));
        Assert.Equal(["hi bob", "hi alice", "twice"], bob.Texts("@alice"));

        var aliceRooms = await alice.Client.ListRoomsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var bobRooms = await bob.Client.ListRoomsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("@bob", Assert.Single(aliceRooms).Name);
        Assert.Equal("@alice", Assert.Single(bobRooms).Name);
        Assert.Equal(2, alice.Client.MlsRoomFor("@bob").Members.Count);
    }

    [Fact(Timeout = Timeout)]
    public async Task Safety_numbers_agree_on_both_sides()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var aboutBob = await alice.Client.WhoisAsync("bob", cancellationToken: TestContext.Current.CancellationToken);
        var aboutAlice = await bob.Client.WhoisAsync("alice", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(aboutBob.SafetyNumber, aboutAlice.SafetyNumber);
        Assert.Matches("^([0-9]{5} ){11}[0-9]{5}$", aboutBob.SafetyNumber);
        Assert.Equal(aboutBob.QrText, aboutAlice.QrText);
        Assert.False(aboutBob.KeyChanged);
        Assert.Null(aboutBob.PreviousFingerprint);
        Assert.Equal(CipherChat.Client.Identity.SafetyNumber.Fingerprint(bob.Store.GetDeviceKey()!.PublicKey), aboutBob.Fingerprint);
        Assert.Equal(CipherChat.Client.Identity.SafetyNumber.Fingerprint(alice.Store.GetDeviceKey()!.PublicKey), aboutAlice.Fingerprint);
        Assert.NotNull(alice.Client.Peers.Get("bob"));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_changed_peer_key_raises_a_warning()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var first = await alice.Client.WhoisAsync("bob", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Empty(alice.Client.TakeWarnings());

        // Bob registers again on a fresh server (a new device key); alice's device follows him there.
        await using var other = await TestServer.StartAsync();
        var newBob = await UserAsync("bob", server: other);
        var aliceThere = await UserAsync("alice", server: other);
        aliceThere.Client.Peers.Check("bob", bob.Store.GetDeviceKey()!.PublicKey, DateTimeOffset.UtcNow);

        var changed = await aliceThere.Client.WhoisAsync("bob", cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(changed.KeyChanged);
        Assert.Equal(first.Fingerprint, changed.PreviousFingerprint);
        Assert.NotEqual(first.Fingerprint, changed.Fingerprint);
        Assert.Contains(aliceThere.Client.TakeWarnings(), w => w.Contains("THE KEY OF 'bob' HAS CHANGED", StringComparison.Ordinal));

        // Every command that touches bob repeats it, until the new key is accepted.
        await aliceThere.Client.CreateRoomAsync("pair", cancellationToken: TestContext.Current.CancellationToken);
        await aliceThere.Client.InviteAsync("pair", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await newBob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await newBob.Client.SendAsync("pair", "it is me, really", cancellationToken: TestContext.Current.CancellationToken);
        await aliceThere.Client.SyncRoomAsync("pair", cancellationToken: TestContext.Current.CancellationToken);
        var warnings = aliceThere.Client.TakeWarnings();
        Assert.Contains(warnings, w => w.Contains("THE KEY OF 'bob' HAS CHANGED", StringComparison.Ordinal));

        // Accepting needs the fingerprint alice compared: another one (here the old key's) is refused and
        // changes nothing; the new one pins the key and the warning stops.
        await Assert.ThrowsAsync<ChatClientException>(() => aliceThere.Client.AcceptPeerKeyAsync("bob", first.Fingerprint, TestContext.Current.CancellationToken));
        Assert.True((await aliceThere.Client.WhoisAsync("bob", cancellationToken: TestContext.Current.CancellationToken)).KeyChanged);
        aliceThere.Client.TakeWarnings();
        var accepted = await aliceThere.Client.AcceptPeerKeyAsync("bob", changed.Fingerprint.ToLowerInvariant().Replace(" ", string.Empty, StringComparison.Ordinal), TestContext.Current.CancellationToken);
        Assert.False(accepted.KeyChanged);
        Assert.Equal(changed.Fingerprint, accepted.Fingerprint);
        Assert.Empty(aliceThere.Client.TakeWarnings());
        await newBob.Client.SendAsync("pair", "and again", cancellationToken: TestContext.Current.CancellationToken);
        await aliceThere.Client.SyncRoomAsync("pair", cancellationToken: TestContext.Current.CancellationToken);
        Assert.DoesNotContain(aliceThere.Client.TakeWarnings(), w => w.Contains("HAS CHANGED", StringComparison.Ordinal));
        await Assert.ThrowsAsync<ChatClientException>(() => aliceThere.Client.AcceptPeerKeyAsync("bob", changed.Fingerprint, TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_crash_after_a_commit_is_prepared_and_before_it_is_sent_recovers()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await alice.Client.CreateRoomAsync("crash", cancellationToken: TestContext.Current.CancellationToken);
        alice.Client.AfterCommitPrepared = _ => throw new SimulatedCrashException();
        await Assert.ThrowsAsync<SimulatedCrashException>(() => alice.Client.InviteAsync("crash", "bob", cancellationToken: TestContext.Current.CancellationToken));
        Assert.True(alice.Client.MlsRoomFor("crash").HasPendingCommit);

        await alice.RestartAsync();
        await alice.Client.SyncRoomAsync("crash", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(alice.Client.TakeWarnings(), w => w.Contains("never reached the server", StringComparison.Ordinal));
        Assert.False(alice.Client.MlsRoomFor("crash").HasPendingCommit);
        Assert.Equal(0UL, alice.Client.MlsRoomFor("crash").Epoch);

        await alice.Client.InviteAsync("crash", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("crash", "after the crash", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["after the crash"], bob.Texts("crash"));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_crash_after_theServer_accepted_a_commit_and_before_it_was_merged_recovers()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await alice.Client.CreateRoomAsync("crash", cancellationToken: TestContext.Current.CancellationToken);
        alice.Client.AfterCommitAccepted = _ => throw new SimulatedCrashException();
        await Assert.ThrowsAsync<SimulatedCrashException>(() => alice.Client.InviteAsync("crash", "bob", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(0UL, alice.Client.MlsRoomFor("crash").Epoch);

        // The next run finds the commit in the log and merges the stored pending state.
        await alice.RestartAsync();
        await alice.Client.SyncRoomAsync("crash", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1UL, alice.Client.MlsRoomFor("crash").Epoch);
        Assert.False(alice.Client.MlsRoomFor("crash").HasPendingCommit);
        await alice.Client.SendAsync("crash", "after the crash", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["after the crash"], bob.Texts("crash"));
        Assert.Equal(
            Convert.ToHexString(alice.Client.MlsRoomFor("crash").EpochAuthenticator()),
            Convert.ToHexString(bob.Client.MlsRoomFor("crash").EpochAuthenticator()));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_member_who_leaves_is_removed_by_a_remaining_member()
    {
        var (alice, bob, carol) = await RoomOfThreeAsync("trio");
        await carol.Client.LeaveRoomAsync("trio", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Null(carol.Store.GetRoom("trio"));

        // Alice reads carol's proposal and commits it before she sends.
        await alice.Client.SendAsync("trio", "just us two now", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["alice", "bob"], alice.Client.MlsRoomFor("trio").Members.Select(m => m.Username).Order());
        await bob.Client.SyncRoomAsync("trio", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["just us two now"], bob.Texts("trio"));
        Assert.Equal(2, bob.Client.MlsRoomFor("trio").Members.Count);
    }

    [Fact(Timeout = Timeout)]
    public async Task Members_commit_a_regular_self_update()
    {
        var alice = await UserAsync("alice", configure: c => c.SelfUpdateMessages = 2);
        var bob = await UserAsync("bob");
        await alice.Client.CreateRoomAsync("fresh", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("fresh", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        var epoch = alice.Client.MlsRoomFor("fresh").Epoch;
        for (var i = 0; i < 5; i++)
        {
            await alice.Client.SendAsync("fresh", $"message {i}", cancellationToken: TestContext.Current.CancellationToken);
        }

        // Two updates: before the third and the fifth message.
        Assert.Equal(epoch + 2, alice.Client.MlsRoomFor("fresh").Epoch);
        await bob.Client.SyncRoomAsync("fresh", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"message {i}"), bob.Texts("fresh"));
        Assert.Equal(epoch + 2, bob.Client.MlsRoomFor("fresh").Epoch);
    }

    [Fact(Timeout = Timeout)]
    public async Task KeyPackages_are_published_at_login_and_topped_up()
    {
        var alice = await UserAsync("alice", configure: c => c.KeyPackageTarget = 6);
        var bob = await UserAsync("bob", configure: c => c.KeyPackageTarget = 6);
        Assert.Equal(6u, (await CountAsync(bob)).OneTime);
        Assert.True((await CountAsync(bob)).HasLastResort);

        // Every invitation uses one of bob's; the next login replaces them.
        for (var i = 0; i < 4; i++)
        {
            await alice.Client.CreateRoomAsync($"r{i}", cancellationToken: TestContext.Current.CancellationToken);
            await alice.Client.InviteAsync($"r{i}", "bob", cancellationToken: TestContext.Current.CancellationToken);
        }

        Assert.Equal(2u, (await CountAsync(bob)).OneTime);
        await bob.RestartAsync(configure: c => c.KeyPackageTarget = 6);
        Assert.Equal(6u, (await CountAsync(bob)).OneTime);
        Assert.Equal(4, (await bob.Client.ListRoomsAsync(cancellationToken: TestContext.Current.CancellationToken)).Count(r => r.HasKeyHere));
    }

    private static async Task<KeyPackageCountOk> CountAsync(TestUser user)
    {
        var connection = await user.Client.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (await connection.RequestAsync(new Frame { KeyPackageCount = new KeyPackageCount() }, cancellationToken: TestContext.Current.CancellationToken)).KeyPackageCountOk;
    }

    [Fact(Timeout = Timeout)]
    public async Task Secret_keys_are_encrypted_with_a_passphrase_and_a_wrong_one_is_a_clear_error()
    {
        var alice = await UserAsync("alice", passphrase: "correct horse");
        var bob = await UserAsync("bob");
        await alice.Client.CreateRoomAsync("vault", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("vault", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("vault", "locked away", cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(alice.Client.SecretsProtected);
        Assert.Equal(DeviceKeyProtection.Protection, alice.Store.GetDeviceKey()!.Protection);

        // The group state on disk is a passphrase blob, not the group's secrets.
        using (var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(alice.Home, ClientStore.FileName)};Mode=ReadOnly;Pooling=False"))
        {
            raw.Open();
            using var cmd = raw.CreateCommand();
            cmd.CommandText = "SELECT group_state FROM mls_groups WHERE room = 'vault';";
            Assert.True(PassphraseKey.IsProtected((byte[])cmd.ExecuteScalar()!));
        }

        await alice.RestartAsync(passphrase: "wrong horse");
        await Assert.ThrowsAsync<WrongPassphraseException>(() => alice.Client.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken));

        await alice.RestartAsync(passphrase: string.Empty);
        var missing = await Assert.ThrowsAsync<ClientStateException>(() => alice.Client.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains(PassphraseKey.EnvironmentVariable, missing.Message, StringComparison.Ordinal);

        await alice.RestartAsync(passphrase: "correct horse");
        await alice.Client.SendAsync("vault", "open again", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["locked away", "open again"], bob.Texts("vault"));
    }

    [Fact(Timeout = Timeout)]
    public async Task Secrets_written_before_a_passphrase_was_set_are_encrypted_once_one_is_given()
    {
        var alice = await UserAsync("alice");
        await alice.Client.CreateRoomAsync("later", cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(alice.Client.SecretsProtected);
        Assert.False(PassphraseKey.IsProtected(GroupState(alice, "later")));

        await alice.RestartAsync(passphrase: "set it now");
        await alice.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(alice.Client.SecretsProtected);
        Assert.True(PassphraseKey.IsProtected(GroupState(alice, "later")));

        await alice.RestartAsync(passphrase: "set it now");
        await alice.Client.SendAsync("later", "still mine", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["still mine"], alice.Texts("later"));
    }

    private static byte[] GroupState(TestUser user, string room)
    {
        using var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(user.Home, ClientStore.FileName)};Mode=ReadOnly;Pooling=False");
        raw.Open();
        using var cmd = raw.CreateCommand();
        cmd.CommandText = "SELECT group_state FROM mls_groups WHERE room = $r;";
        cmd.Parameters.AddWithValue("$r", room);
        return (byte[])cmd.ExecuteScalar()!;
    }

    [Fact(Timeout = Timeout)]
    public async Task TheServer_database_holds_no_plaintext()
    {
        var (alice, bob, carol) = await RoomOfThreeAsync("secret");
        var texts = new[] { "PLAINTEXT-CANARY-mls-room-41", "PLAINTEXT-CANARY-mls-room-42" };
        await alice.Client.SendAsync("secret", texts[0], cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SendAsync("secret", texts[1], cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SendDirectAsync("alice", "PLAINTEXT-CANARY-direct-43", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("PLAINTEXT-CANARY-direct-43", alice.Texts("@carol"));

        await Server.StopAsync();
        var files = Directory.GetFiles(Server.DataDirectory, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith(".db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file, cancellationToken: TestContext.Current.CancellationToken);
            foreach (var text in texts.Append("PLAINTEXT-CANARY-direct-43").Append("PLAINTEXT-CANARY"))
            {
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) < 0, $"'{text}' found in {Path.GetFileName(file)}");
            }
        }
    }

    [Fact(Timeout = Timeout)]
    public async Task Shared_key_rooms_keep_working_beside_mls_rooms()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        using var fernet = CipherChat.Client.Fernet.FernetKey.Generate();
        var key = fernet.Export();
        await alice.Client.JoinPskRoomAsync("legacy", key, cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.JoinPskRoomAsync("legacy", key, cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.CreateRoomAsync("modern", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("modern", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("legacy", "fernet", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("modern", "mls", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["fernet"], bob.Texts("legacy"));
        Assert.Equal(["mls"], bob.Texts("modern"));
        var rooms = (await bob.Client.ListRoomsAsync(cancellationToken: TestContext.Current.CancellationToken)).ToDictionary(r => r.Name, r => r.Kind);
        Assert.Equal(RoomKinds.Psk, rooms["legacy"]);
        Assert.Equal(RoomKinds.Mls, rooms["modern"]);
    }

    private sealed class SimulatedCrashException : Exception
    {
    }
}
