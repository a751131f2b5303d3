using CipherChat.Client.Identity;
using CipherChat.Client.Mls;
using CipherChat.Client.Storage;
using CipherChat.Mls;
using CipherChat.Mls.Messages;

namespace CipherChat.Client.Tests.Mls;

public sealed class KeyPackagePoolTests
{
    [Fact]
    public void Top_up_keeps_the_one_time_batch_full_and_one_last_resort()
    {
        using var home = new TempHome();
        using var store = MlsStateStore.Open(home.Path);
        using var member = MlsMember.Generate("bob");
        var pool = new KeyPackagePool(store, member);

        var first = pool.TopUp(5);
        Assert.Equal(6, first.Count);
        Assert.Single(first, k => k.LastResort);
        Assert.Equal(5, pool.OneTimeCount);
        Assert.Empty(pool.TopUp(5));
        Assert.Equal(2, pool.TopUp(7).Count);
        Assert.Equal(8, pool.All().Count);

        // Every published KeyPackage names bob, is signed with his key, and has a distinct reference.
        foreach (var published in pool.All())
        {
            var keyPackage = KeyPackage.FromBytes(published.KeyPackage);
            Assert.Equal("bob", MlsMember.UsernameOf(keyPackage.LeafNode.Credential));
            Assert.Equal(member.Signer.PublicKey, keyPackage.LeafNode.SignatureKey.ToArray());
        }

        Assert.Equal(8, pool.All().Select(k => Convert.ToHexString(k.Reference)).Distinct().Count());
    }

    [Fact]
    public void One_time_key_package_is_used_once_and_the_last_resort_one_is_kept()
    {
        using var alice = new Device("alice");
        using var bob = new Device("bob");
        using var carol = new Device("carol");
        var published = bob.Pool.TopUp(1);
        var oneTime = published.Single(k => !k.LastResort).KeyPackage;
        var lastResort = published.Single(k => k.LastResort).KeyPackage;

        alice.CreateRoom("one");
        var welcome = alice.R.PrepareAdd([oneTime]).Welcome!;
        alice.R.ConfirmPendingCommit();
        bob.Join("one", welcome, 1);
        Assert.Equal(0, bob.Pool.OneTimeCount);

        // The same Welcome (or a second use of the KeyPackage) finds no private keys any more.
        using var bobAgain = MlsStateStore.Open(bob.HomePath);
        Assert.Throws<MlsRoomException>(() => MlsRoomCipher.Join("again", bob.Member, bobAgain, new KeyPackagePool(bobAgain, bob.Member), welcome));

        // The last-resort KeyPackage serves two groups and stays.
        carol.CreateRoom("two");
        var second = carol.R.PrepareAdd([lastResort]).Welcome!;
        carol.R.ConfirmPendingCommit();
        using var third = new Device("dave");
        third.CreateRoom("three");
        var thirdWelcome = third.R.PrepareAdd([lastResort]).Welcome!;
        third.R.ConfirmPendingCommit();
        using (var two = MlsRoomCipher.Join("two", bob.Member, bob.Store, bob.Pool, second))
        using (var three = MlsRoomCipher.Join("three", bob.Member, bob.Store, bob.Pool, thirdWelcome))
        {
            Assert.Equal(1UL, two.Epoch);
            Assert.Equal(1UL, three.Epoch);
        }

        Assert.Single(bob.Pool.All(), k => k.LastResort);
    }
}

public sealed class MlsMemberTests
{
    [Fact]
    public void Device_key_is_the_mls_signature_key()
    {
        using var identity = DeviceIdentity.Create();
        using var member = MlsMember.FromDeviceKey("Alice", identity.ToStored(DateTimeOffset.UnixEpoch));
        Assert.Equal("alice", member.Username);
        Assert.Equal(identity.PublicKey, member.Signer.PublicKey);
        Assert.Equal("alice"u8.ToArray(), member.Credential.Identity.ToArray());
        Assert.Equal(CredentialType.Basic, member.Credential.CredentialType);

        var stored = identity.ToStored(DateTimeOffset.UnixEpoch);
        Assert.Throws<ClientStateException>(() => MlsMember.FromDeviceKey("alice", stored with { PublicKey = new byte[32] }));
        Assert.Throws<ClientStateException>(() => MlsMember.FromDeviceKey("alice", stored with { Protection = DeviceKeyProtection.Protection }));
        Assert.Throws<ClientStateException>(() => MlsMember.FromDeviceKey("alice", stored with { PrivateKey = new byte[5] }));
    }

    [Fact]
    public void Only_basic_credentials_with_valid_usernames_name_a_user()
    {
        Assert.Equal("bob", MlsMember.UsernameOf(Credential.Basic("bob"u8.ToArray())));
        Assert.Null(MlsMember.UsernameOf(Credential.Basic("Bob"u8.ToArray())));
        Assert.Null(MlsMember.UsernameOf(Credential.Basic(new byte[] { 0xFF, 0xFE })));
        Assert.Null(MlsMember.UsernameOf(Credential.Basic("no spaces"u8.ToArray())));
    }
}

public sealed class MlsStateStoreTests
{
    private static readonly Argon2idSettings Cheap = new(1024, 1);

    [Fact]
    public void With_a_passphrase_group_state_and_key_package_keys_are_encrypted_at_rest()
    {
        using var home = new TempHome();
        using var member = MlsMember.Generate("alice");
        using (var key = PassphraseKey.Create("room pass", Cheap))
        using (var store = MlsStateStore.Open(home.Path, key))
        {
            Assert.True(store.IsProtected);
            using var room = MlsRoomCipher.Create("general", member, store);
            new KeyPackagePool(store, member).TopUp(2);
        }

        // No group state in the clear: the saved-group magic and the signature seed are absent from the file.
        var file = File.ReadAllBytes(Path.Combine(home.Path, ClientStore.FileName));
        var wal = Path.Combine(home.Path, ClientStore.FileName + "-wal");
        var all = File.Exists(wal) ? [.. file, .. File.ReadAllBytes(wal)] : file;
        Assert.Equal(-1, all.AsSpan().IndexOf("CCMG"u8));
        Assert.Equal(-1, all.AsSpan().IndexOf(member.Signer.PrivateKey.Span));

        using (var wrong = PassphraseKey.Create("not it", Cheap))
        using (var store = MlsStateStore.Open(home.Path, wrong))
        {
            Assert.Throws<WrongPassphraseException>(() => MlsRoomCipher.Load("general", member, store));
        }

        using (var store = MlsStateStore.Open(home.Path))
        {
            Assert.Throws<ClientStateException>(() => MlsRoomCipher.Load("general", member, store));
        }

        using (var right = PassphraseKey.Create("room pass", Cheap))
        using (var store = MlsStateStore.Open(home.Path, right))
        using (var room = MlsRoomCipher.Load("general", member, store))
        {
            Assert.Equal(0UL, room.Epoch);
            Assert.Equal(3, new KeyPackagePool(store, member).All().Count);
        }
    }

    [Fact]
    public void Unknown_room_and_second_group_for_a_room_are_refused()
    {
        using var home = new TempHome();
        using var member = MlsMember.Generate("alice");
        using var store = MlsStateStore.Open(home.Path);
        Assert.Throws<MlsRoomException>(() => MlsRoomCipher.Load("nowhere", member, store));
        using var room = MlsRoomCipher.Create("general", member, store);
        Assert.Throws<MlsRoomException>(() => MlsRoomCipher.Create("general", member, store));
    }
}
