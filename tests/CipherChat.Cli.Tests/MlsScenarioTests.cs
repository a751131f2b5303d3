using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CipherChat.Cli.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CipherChat.Cli.Tests;

/// <summary>
/// MLS rooms and direct conversations from the command line, as scripts use it: every command is a real
/// <c>cipherchat</c> process with its own CIPHERCHAT_HOME, talking to a real server through a proxy that
/// records the traffic.
/// </summary>
public sealed partial class MlsScenarioTests
{
    [Fact]
    public async Task Four_people_in_an_mls_room_direct_messages_safety_numbers_and_a_swapped_key()
    {
        // TLS off, so the recorded bytes are the frames themselves and only MLS protects the text.
        await using var server = await InProcessServer.StartAsync(tls: false);
        await using var proxy = new RecordingProxy(server.Port);
        var address = $"127.0.0.1:{proxy.Port}";
        using var alice = new CliProcessUser("alice");
        using var bob = new CliProcessUser("bob");
        using var carol = new CliProcessUser("carol");
        using var dave = new CliProcessUser("dave");
        var everyone = new[] { alice, bob, carol, dave };
        var marker = "mls-marker-" + Guid.NewGuid().ToString("N")[..12];
        string Text(string what) => $"{marker} {what}";

        // Dave keeps his keys encrypted with a passphrase, given to every command as a script would.
        dave.Passphrase = "correct horse battery staple";
        foreach (var user in everyone)
        {
            Assert.Contains($"registered '{user.Name}'", await user.OkAsync("register", "--server", address, "--user", user.Name, "--tls", "off"), StringComparison.Ordinal);
        }

        // Alice creates the room and adds Bob and Carol; the name is hers now, as Carol learns.
        Assert.Contains("created the MLS room #team", await alice.OkAsync("room", "create", "Team"), StringComparison.Ordinal);
        Assert.Contains("the room #team already exists", await carol.FailsAsync(1, "room", "create", "team"), StringComparison.Ordinal);
        Assert.Contains("added bob to #team", await alice.OkAsync("room", "invite", "team", "bob"), StringComparison.Ordinal);
        Assert.Contains("added carol to #team", await alice.OkAsync("room", "invite", "#team", "carol"), StringComparison.Ordinal);

        // They chat: Bob's first command opens his invitation.
        await bob.OkAsync("send", "--room", "team", Text("hello from bob"));
        var carolLines = await ReadJsonAsync(carol, "team");
        Assert.Equal([Text("hello from bob")], carolLines.Select(l => l.GetProperty("text").GetString()));
        Assert.Equal("bob", carolLines[0].GetProperty("from").GetString());
        Assert.Equal("team", carolLines[0].GetProperty("room").GetString());
        await carol.OkAsync("send", "--room", "team", Text("carol here"));
        var aliceRead = Lines(await alice.OkAsync("read", "--room", "team"));
        Assert.Equal(2, aliceRead.Length);
        Assert.Matches(@"^\[\d{4}-\d\d-\d\d \d\d:\d\d\] bob: " + Regex.Escape(Text("hello from bob")) + "$", aliceRead[0]);
        Assert.EndsWith("] carol: " + Text("carol here"), aliceRead[1], StringComparison.Ordinal);

        // Dave was offline all along: invited now, he reads what follows his arrival (MLS gives him no older keys).
        await alice.OkAsync("room", "invite", "team", "dave");
        await alice.OkAsync("send", "--room", "team", Text("welcome dave"));
        var daveLines = await ReadJsonAsync(dave, "team");
        Assert.Equal([Text("welcome dave")], daveLines.Select(l => l.GetProperty("text").GetString()));

        // Without the passphrase and without a terminal to ask it on, a command stops at once and says why.
        dave.Passphrase = null;
        Assert.Contains("CIPHERCHAT_PASSPHRASE", await dave.FailsAsync(1, "read", "--room", "team"), StringComparison.Ordinal);
        dave.Passphrase = "correct horse battery staple";

        // Bob is removed: he cannot read what follows, and cannot post any more.
        Assert.Contains("removed bob from #team", await alice.OkAsync("room", "remove", "team", "bob"), StringComparison.Ordinal);
        await alice.OkAsync("send", "--room", "team", Text("bob is gone"));
        var bobAfter = await bob.RunAsync("read", "--room", "team", "--all");
        Assert.DoesNotContain(Text("bob is gone"), bobAfter.Output, StringComparison.Ordinal);
        Assert.Contains(Text("hello from bob"), bobAfter.Output, StringComparison.Ordinal);
        Assert.Contains("removed from 'team' by 'alice'", bobAfter.Error, StringComparison.Ordinal);
        var bobSends = await bob.RunAsync("send", "--room", "team", "still here?");
        Assert.Equal(1, bobSends.ExitCode);
        Assert.Contains("removed", bobSends.Error, StringComparison.Ordinal);
        var daveAfter = await ReadJsonAsync(dave, "team");
        Assert.Equal([Text("bob is gone")], daveAfter.Select(l => l.GetProperty("text").GetString()));

        // An admins-only room: a member who is not an admin cannot invite.
        Assert.Contains("only admins may add or remove", await carol.OkAsync("room", "create", "board", "--admins-only"), StringComparison.Ordinal);
        await carol.OkAsync("room", "invite", "board", "dave");
        Assert.Contains("admin", await dave.FailsAsync(1, "room", "invite", "board", "alice"), StringComparison.Ordinal);

        // Direct conversations, both ways: "@USER" names them for the other commands.
        await alice.OkAsync("dm", "bob", Text("psst bob"));
        var bobDirect = await ReadJsonAsync(bob, "@alice");
        Assert.Equal([Text("psst bob")], bobDirect.Select(l => l.GetProperty("text").GetString()));
        Assert.Equal("@alice", bobDirect[0].GetProperty("room").GetString());
        await bob.OkAsync("dm", "@alice", Text("hi alice"));
        var aliceDirect = Lines(await alice.OkAsync("read", "--room", "@bob"));
        Assert.Equal(2, aliceDirect.Length);
        Assert.EndsWith("] alice: " + Text("psst bob"), aliceDirect[0], StringComparison.Ordinal);
        Assert.EndsWith("] bob: " + Text("hi alice"), aliceDirect[1], StringComparison.Ordinal);
        var rooms = Lines(await alice.OkAsync("rooms"));
        Assert.Contains(rooms, l => l.StartsWith("#team\tmls", StringComparison.Ordinal));
        Assert.Contains(rooms, l => l.StartsWith("@bob\tdirect", StringComparison.Ordinal));

        // Both sides print the same safety number, and a QR code of it.
        var aliceSees = await alice.OkAsync("whois", "bob");
        var bobSees = await bob.OkAsync("whois", "alice");
        Assert.Equal(SafetyNumber(aliceSees), SafetyNumber(bobSees));
        Assert.Contains('\u2580', aliceSees);
        Assert.DoesNotContain("CHANGED", aliceSees, StringComparison.Ordinal);

        // Leaving an MLS room.
        Assert.Contains("left #team", await carol.OkAsync("room", "leave", "team"), StringComparison.Ordinal);
        Assert.DoesNotContain(Lines(await carol.OkAsync("rooms")), l => l.StartsWith("#team", StringComparison.Ordinal));

        // The server swaps Carol's key for another (what a malicious server would do): Alice, who pinned
        // Carol's key when she invited her, is warned loudly.
        using var mallory = new CliProcessUser("mallory");
        await mallory.OkAsync("register", "--server", address, "--user", "mallory", "--tls", "off");
        await server.StopAsync();
        SwapKey(server.DataDirectory, victim: "carol", impostor: "mallory");
        await server.RestartAsync();
        var swapped = await alice.RunAsync("whois", "carol", "--no-qr");
        Assert.Equal(0, swapped.ExitCode);
        Assert.Contains("KEY CHANGED", swapped.Output, StringComparison.Ordinal);
        Assert.Contains("WARNING", swapped.Error, StringComparison.Ordinal);
        Assert.Contains("'carol'", swapped.Error, StringComparison.Ordinal);
        Assert.Contains("HAS CHANGED", swapped.Error, StringComparison.Ordinal);

        // After comparing the new safety number, alice accepts the new key by its fingerprint; the warning stops.
        var newFingerprint = Lines(swapped.Output).Single(l => l.StartsWith("fingerprint:", StringComparison.Ordinal))["fingerprint:".Length..].Trim();
        var accepted = await alice.RunAsync("whois", "carol", "--no-qr", "--accept", newFingerprint);
        Assert.Equal(0, accepted.ExitCode);
        Assert.Contains("accepted:", accepted.Output, StringComparison.Ordinal);
        var calm = await alice.RunAsync("whois", "carol", "--no-qr");
        Assert.DoesNotContain("CHANGED", calm.Output + calm.Error, StringComparison.Ordinal);

        // No text crossed the wire or reached the server's files in the clear.
        var captured = proxy.Captured();
        Assert.True(ContainsBytes("team"u8.ToArray(), captured), "the room name travels in the clear, so the capture is real");
        Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(marker), captured), "message text crossed the wire");
        await server.StopAsync();
        foreach (var file in Directory.GetFiles(server.DataDirectory, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(marker), bytes), $"{Path.GetFileName(file)} holds message text");
        }

        Assert.Contains(Directory.GetFiles(dave.Home, "*", SearchOption.AllDirectories), f => ContainsBytes(Encoding.UTF8.GetBytes(marker), File.ReadAllBytes(f)));
        using (var store = dave.OpenStore())
        {
            Assert.NotEqual("none", store.GetDeviceKey()!.Protection);
        }
        Assert.True(everyone.Sum(u => u.Runs) + mallory.Runs <= 50, "the scenario stays within a few dozen processes");
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string SafetyNumber(string whois)
    {
        var match = SafetyNumberLine().Match(whois);
        Assert.True(match.Success, "no safety number of 12 groups of 5 digits in: " + whois);
        return match.Groups[1].Value;
    }

    private static async Task<List<JsonElement>> ReadJsonAsync(CliProcessUser user, string room)
    {
        var result = new List<JsonElement>();
        foreach (var line in Lines(await user.OkAsync("read", "--room", room, "--json")))
        {
            using var doc = JsonDocument.Parse(line);
            result.Add(doc.RootElement.Clone());
        }

        return result;
    }

    /// <summary>Gives <paramref name="victim"/> the registered key of <paramref name="impostor"/> in the stopped server's database.</summary>
    private static void SwapKey(string dataDirectory, string victim, string impostor)
    {
        var database = Assert.Single(Directory.GetFiles(dataDirectory, "*.db"));
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE users SET public_key = (SELECT public_key FROM users WHERE name = $impostor) WHERE name = $victim;";
        command.Parameters.AddWithValue("$victim", victim);
        command.Parameters.AddWithValue("$impostor", impostor);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private static bool ContainsBytes(byte[] needle, byte[] haystack) => haystack.AsSpan().IndexOf(needle) >= 0;

    [GeneratedRegex(@"safety number:\s+(\d{5}(?: \d{5}){11})\n")]
    private static partial Regex SafetyNumberLine();
}
