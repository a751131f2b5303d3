using System.Text.Json;

namespace CipherChat.Mls.Tests.Interop;

/// <summary>
/// CipherChat's MLS against ts-mls, through the two peer programs and their files, in both directions: each side
/// creates the group and adds the other, messages go both ways, both sides commit updates, a third member is
/// added and removed; with PrivateMessage and PublicMessage commits and with and without the ratchet tree in the
/// Welcome. After every step all members report the same epoch authenticator.
/// </summary>
public sealed class TsMlsInteropTests(TsMlsPeerFixture fixture) : IClassFixture<TsMlsPeerFixture>
{
    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var creator in new[] { "ts-mls", "cipherchat" })
        {
            foreach (var wire in new[] { "private", "public" })
            {
                foreach (var treeInWelcome in new[] { true, false })
                {
                    data.Add(creator, wire, treeInWelcome);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Both_implementations_agree_on_every_epoch(string creator, string wire, bool treeInWelcome)
    {
        if (fixture.SkipReason is { } reason)
        {
            Assert.Skip(reason);
        }

        var work = Path.Combine(fixture.Root, $"{creator}-{wire}-{(treeInWelcome ? "tree" : "notree")}");
        var xfer = Path.Combine(work, "xfer");
        Directory.CreateDirectory(xfer);
        var ts = new PeerProcess("ts-mls", "node", [Path.Combine(fixture.TsPeerDirectory!, "peer.mjs")], fixture.TsPeerDirectory!);
        var cs = new PeerProcess("cipherchat", "dotnet", [fixture.OurPeer!], work);
        var (a, b) = creator == "ts-mls" ? (ts, cs) : (cs, ts);
        var dirA = Path.Combine(work, "a");
        var dirB = Path.Combine(work, "b");
        var dirC = Path.Combine(work, "c");
        string F(string name) => Path.Combine(xfer, name);
        string[] JoinArgs(string dir, string welcome, string tree) => treeInWelcome
            ? ["join", "--state", dir, "--welcome", welcome]
            : ["join", "--state", dir, "--welcome", welcome, "--ratchet-tree", tree];
        string[] AddArgs(string dir, string kp, string commit, string welcome, string tree) => treeInWelcome
            ? ["add", "--state", dir, "--keypackage", kp, "--out-commit", commit, "--out-welcome", welcome, "--out-tree", tree, "--wire", wire]
            : ["add", "--state", dir, "--keypackage", kp, "--out-commit", commit, "--out-welcome", welcome, "--out-tree", tree, "--wire", wire, "--no-ratchet-tree-ext"];

        // The creator (a) adds the other implementation (b).
        b.Run("keypackage", "--name", "bob", "--state", dirB, "--out", F("bob-kp.json"));
        a.Run("create-group", "--state", dirA, "--name", "alice", "--group-id", "0a0b0c0d");
        var added = a.Run(AddArgs(dirA, F("bob-kp.json"), F("c1.json"), F("w1.json"), F("t1.json")));
        Assert.Equal(wire == "public" ? "mls_public_message" : "mls_private_message", added.GetProperty("commit_wireformat").GetString());
        var joined = b.Run(JoinArgs(dirB, F("w1.json"), F("t1.json")));
        Assert.Equal("1", joined.GetProperty("epoch").GetString());
        AssertSameEpoch(1, (a, dirA), (b, dirB));
        AssertSameExport((a, dirA), (b, dirB));

        // Application messages both ways.
        a.Run("send", "--state", dirA, "--text", "hello bob", "--out", F("m1.json"));
        Assert.Equal("hello bob", b.RunText("recv", "--state", dirB, "--msg", F("m1.json"), "--text-only"));
        b.Run("send", "--state", dirB, "--text", "hi alice ✓", "--out", F("m2.json"));
        Assert.Equal("hi alice ✓", a.RunText("recv", "--state", dirA, "--msg", F("m2.json"), "--text-only"));

        // A replayed application message is rejected.
        Assert.NotEqual(0, b.RunRaw("recv", "--state", dirB, "--msg", F("m1.json"), "--text-only").ExitCode);

        // Update commits both ways.
        b.Run("commit-update", "--state", dirB, "--out", F("c2.json"), "--wire", wire);
        var processed = a.Run("recv", "--state", dirA, "--msg", F("c2.json"));
        Assert.Equal("commit", processed.GetProperty("kind").GetString());
        AssertSameEpoch(2, (a, dirA), (b, dirB));
        a.Run("commit-update", "--state", dirA, "--out", F("c3.json"), "--wire", wire);
        b.Run("recv", "--state", dirB, "--msg", F("c3.json"));
        AssertSameEpoch(3, (a, dirA), (b, dirB));

        // A third member, of the joiner's implementation, added by the joiner.
        b.Run("keypackage", "--name", "carol", "--state", dirC, "--out", F("carol-kp.json"));
        b.Run(AddArgs(dirB, F("carol-kp.json"), F("c4.json"), F("w4.json"), F("t4.json")));
        a.Run("recv", "--state", dirA, "--msg", F("c4.json"));
        b.Run(JoinArgs(dirC, F("w4.json"), F("t4.json")));
        AssertSameEpoch(4, (a, dirA), (b, dirB), (b, dirC));
        b.Run("send", "--state", dirC, "--text", "carol here", "--out", F("m3.json"));
        Assert.Equal("carol here", a.RunText("recv", "--state", dirA, "--msg", F("m3.json"), "--text-only"));
        Assert.Equal("carol here", b.RunText("recv", "--state", dirB, "--msg", F("m3.json"), "--text-only"));

        // The creator removes the third member; everyone left agrees, the removed member knows.
        var removed = a.Run("remove", "--state", dirA, "--member", "carol", "--out", F("c5.json"), "--wire", wire);
        Assert.Equal(2, removed.GetProperty("members").GetArrayLength());
        b.Run("recv", "--state", dirB, "--msg", F("c5.json"));
        var carol = b.Run("recv", "--state", dirC, "--msg", F("c5.json"));
        Assert.Equal("removedFromGroup", carol.GetProperty("active_state").GetString());
        AssertSameEpoch(5, (a, dirA), (b, dirB));
        AssertSameExport((a, dirA), (b, dirB));

        // Messages still flow in the new epoch.
        a.Run("send", "--state", dirA, "--text", "bye carol", "--out", F("m4.json"));
        Assert.Equal("bye carol", b.RunText("recv", "--state", dirB, "--msg", F("m4.json"), "--text-only"));
        b.Run("send", "--state", dirB, "--text", "indeed", "--out", F("m5.json"));
        Assert.Equal("indeed", a.RunText("recv", "--state", dirA, "--msg", F("m5.json"), "--text-only"));
    }

    private static void AssertSameEpoch(int epoch, params (PeerProcess Peer, string Dir)[] members)
    {
        var infos = members.Select(m => m.Peer.Run("info", "--state", m.Dir)).ToList();
        var expected = infos[0].GetProperty("epoch_authenticator_hex").GetString();
        Assert.False(string.IsNullOrEmpty(expected));
        for (var i = 0; i < infos.Count; i++)
        {
            Assert.Equal(epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), infos[i].GetProperty("epoch").GetString());
            Assert.Equal(expected, infos[i].GetProperty("epoch_authenticator_hex").GetString());
            Assert.Equal(infos[0].GetProperty("tree_hash_hex").GetString(), infos[i].GetProperty("tree_hash_hex").GetString());
            Assert.Equal(Identities(infos[0]), Identities(infos[i]));
        }
    }

    private static void AssertSameExport(params (PeerProcess Peer, string Dir)[] members)
    {
        var secrets = members.Select(m => m.Peer.Run("export", "--state", m.Dir, "--label", "interop", "--context-hex", "0102", "--length", "32")
            .GetProperty("secret_hex").GetString()).ToList();
        Assert.All(secrets, s => Assert.Equal(secrets[0], s));
    }

    private static string Identities(JsonElement info) =>
        string.Join(",", info.GetProperty("members").EnumerateArray().Select(m => $"{m.GetProperty("leaf_index").GetInt32()}:{m.GetProperty("identity").GetString()}"));
}
