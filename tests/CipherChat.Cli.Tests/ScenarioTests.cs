using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using CipherChat.Cli.Tests.Support;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Tests;

/// <summary>
/// The whole story against a real server on a loopback port, driven through the CLI commands with a
/// separate CIPHERCHAT_HOME per person: register, join, send, offline delivery, server restart,
/// wrong key, hostile bytes.
/// </summary>
public sealed class ScenarioTests
{
    [Fact]
    public async Task Four_people_chat_through_a_restart_a_wrong_key_and_hostile_bytes()
    {
        await using var server = await InProcessServer.StartAsync(tls: true);
        using var alice = new CliUser("alice");
        using var bob = new CliUser("bob");
        using var carol = new CliUser("carol");
        using var erin = new CliUser("erin");

        // Registration pins the certificate on first use and says so.
        foreach (var user in new[] { alice, bob, carol, erin })
        {
            var output = await user.OkAsync("register", "--server", server.Address, "--user", user.Name);
            Assert.Contains($"registered '{user.Name}'", output, StringComparison.Ordinal);
            Assert.Contains(server.Fingerprint!, output, StringComparison.Ordinal);
        }

        var taken = await new CliUser("alice2").RunAsync("register", "--server", server.Address, "--user", "ALICE");
        Assert.Equal(1, taken.ExitCode);
        Assert.Contains("already registered", taken.Error, StringComparison.Ordinal);
        Assert.Single(taken.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var key = (await alice.OkAsync("keygen")).Trim();
        Assert.Equal(44, key.Length);
        var otherKey = (await alice.OkAsync("keygen")).Trim();
        Assert.NotEqual(key, otherKey);

        Assert.Contains("created and joined #general", await alice.OkAsync("room", "join", "#General", "--key", key), StringComparison.Ordinal);
        Assert.Contains("joined #general", await bob.OkAsync("room", "join", "general", "--key", key), StringComparison.Ordinal);
        Assert.Contains("joined #general", await carol.OkAsync("room", "join", "general", "--key", key), StringComparison.Ordinal);
        await erin.OkAsync("room", "join", "general", "--key", key);

        // A mistyped key is refused by the server at once.
        var wrongJoin = await new CliUser("dave").RunAsync("room", "join", "general", "--key", otherKey);
        Assert.NotEqual(0, wrongJoin.ExitCode);
        using (var dave = new CliUser("dave"))
        {
            await dave.OkAsync("register", "--server", server.Address, "--user", "dave");
            var refused = await dave.RunAsync("room", "join", "general", "--key", otherKey);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("wrong room key", refused.Error, StringComparison.Ordinal);
        }

        // Erin's device ends up with a wrong key (say, a bad copy): she must see errors, never text.
        using (var store = erin.OpenStore())
        {
            store.UpsertRoom(new RoomRecord("general", RoomKinds.Psk, otherKey, DateTimeOffset.UtcNow, 0));
        }

        Assert.Contains("#general", await alice.OkAsync("rooms"), StringComparison.Ordinal);

        // Carol and Erin are offline while these are sent.
        Assert.Equal(string.Empty, await alice.OkAsync("send", "--room", "general", "hello from alice"));
        await bob.OkAsync("send", "--room", "#general", "hi alice, bob here");

        var bobRead = (await bob.OkAsync("read", "--room", "general")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, bobRead.Length);
        Assert.Matches(@"^\[\d{4}-\d\d-\d\d \d\d:\d\d\] alice: hello from alice$", bobRead[0]);
        Assert.EndsWith("] bob: hi alice, bob here", bobRead[1], StringComparison.Ordinal);
        Assert.Equal(string.Empty, await bob.OkAsync("read", "--room", "general"));

        // Hostile bytes on raw connections do not disturb anyone.
        await HostileBytesAsync(server.Port);

        // Offline delivery: Carol gets both, oldest first.
        var carolLines = await ReadJsonAsync(carol);
        Assert.Equal(new[] { "hello from alice", "hi alice, bob here" }, carolLines.Select(l => l.GetProperty("text").GetString()));
        Assert.Equal(new[] { "alice", "bob" }, carolLines.Select(l => l.GetProperty("from").GetString()));

        // Restart the server on the same data: nothing lost, nothing shown twice.
        await server.RestartAsync();
        await alice.OkAsync("send", "--room", "general", "after the restart");
        bobRead = (await bob.OkAsync("read", "--room", "general")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(bobRead);
        Assert.EndsWith("] alice: after the restart", bobRead[0], StringComparison.Ordinal);

        var carolAfter = await ReadJsonAsync(carol);
        Assert.Equal("after the restart", Assert.Single(carolAfter).GetProperty("text").GetString());
        var carolAll = await ReadJsonAsync(carol, "--all");
        Assert.Equal(3, carolAll.Count);
        Assert.Equal(3, carolAll.Select(l => l.GetProperty("id").GetString()).Distinct().Count());
        foreach (var line in carolAll)
        {
            Assert.Equal("general", line.GetProperty("room").GetString());
            Assert.True(DateTimeOffset.TryParse(line.GetProperty("sent_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
            Assert.True(DateTimeOffset.TryParse(line.GetProperty("received_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        }

        // Erin, with the wrong key, gets a line per message with "error" and no "text".
        var erinLines = await ReadJsonAsync(erin);
        Assert.Equal(3, erinLines.Count);
        foreach (var line in erinLines)
        {
            Assert.False(line.TryGetProperty("text", out _));
            Assert.Equal(PskRoomCipher.UndecryptableError, line.GetProperty("error").GetString());
        }

        var erinHuman = await erin.OkAsync("read", "--room", "general", "--all");
        Assert.DoesNotContain("hello from alice", erinHuman, StringComparison.Ordinal);
        Assert.Contains("cannot decrypt", erinHuman, StringComparison.Ordinal);

        // Leaving: the room is gone from the list, reading it is a clear error.
        Assert.Contains("left #general", await bob.OkAsync("room", "leave", "general"), StringComparison.Ordinal);
        Assert.DoesNotContain("#general", await bob.OkAsync("rooms"), StringComparison.Ordinal);
        var gone = await bob.RunAsync("read", "--room", "general");
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("you are not in room 'general'", gone.Error, StringComparison.Ordinal);
    }

    private static async Task<List<JsonElement>> ReadJsonAsync(CliUser user, params string[] extra)
    {
        var output = await user.OkAsync(["read", "--room", "general", "--json", .. extra]);
        var result = new List<JsonElement>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            result.Add(doc.RootElement.Clone());
        }

        return result;
    }

    private static async Task HostileBytesAsync(int port)
    {
        var random = RandomNumberGenerator.GetBytes(4096);
        var huge = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(huge, 0x7FFFFFFF);
        var truncated = new byte[14];
        BinaryPrimitives.WriteUInt32BigEndian(truncated, 100);
        var garbageFrame = new byte[4 + 16];
        BinaryPrimitives.WriteUInt32BigEndian(garbageFrame, 16);
        Array.Fill(garbageFrame, (byte)0xFF, 4, 16);

        // Not even TLS: plain garbage where a TLS handshake belongs.
        await RawClient.SendAsync(port, tls: false, random);
        foreach (var bytes in new[] { random, huge, truncated, garbageFrame })
        {
            await RawClient.SendAsync(port, tls: true, bytes);
        }
    }
}
