using System.Collections;
using System.Security.Cryptography;
using CipherChat.Client.Identity;

namespace CipherChat.Client.Tests.Identity;

public sealed class SafetyNumberTests
{
    private static byte[] Key(byte seed)
    {
        var key = new byte[32];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)(seed + (i * 7));
        }

        return key;
    }

    [Fact]
    public void Both_sides_compute_the_same_number()
    {
        var alice = Key(1);
        var bob = Key(2);
        var seenByAlice = SafetyNumber.Compute("alice", alice, "bob", bob);
        var seenByBob = SafetyNumber.Compute("bob", bob, "alice", alice);
        Assert.Equal(seenByAlice, seenByBob);
    }

    [Fact]
    public void Number_is_sixty_digits_made_of_the_two_halves_in_name_order()
    {
        var number = SafetyNumber.Compute("zoe", Key(9), "adam", Key(3));
        Assert.Equal(60, number.Length);
        Assert.All(number, c => Assert.True(char.IsAsciiDigit(c)));
        Assert.Equal(SafetyNumber.Half("adam", Key(3)) + SafetyNumber.Half("zoe", Key(9)), number);
    }

    [Fact]
    public void Changing_either_key_changes_the_number()
    {
        var original = SafetyNumber.Compute("alice", Key(1), "bob", Key(2));
        Assert.NotEqual(original, SafetyNumber.Compute("alice", Key(5), "bob", Key(2)));
        Assert.NotEqual(original, SafetyNumber.Compute("alice", Key(1), "bob", Key(6)));

        var flipped = Key(2);
        flipped[31] ^= 1;
        var changed = SafetyNumber.Compute("alice", Key(1), "bob", flipped);
        Assert.NotEqual(original, changed);

        // Only bob's half moves when only bob's key does.
        Assert.Equal(original[..30], changed[..30]);
        Assert.NotEqual(original[30..], changed[30..]);
    }

    [Fact]
    public void Username_is_bound_into_the_half()
    {
        var key = Key(4);
        Assert.NotEqual(SafetyNumber.Half("carol", key), SafetyNumber.Half("carla", key));
    }

    [Fact]
    public void Half_is_iterated_sha512_of_the_documented_input()
    {
        // An independent recomputation of the documented construction.
        var key = Key(7);
        var name = "dave"u8.ToArray();
        var label = "CipherChat safety number half"u8.ToArray();
        byte[] seed = [0, 1, .. label, (byte)name.Length, .. name, .. key];
        var digest = SHA512.HashData(seed);
        for (var i = 1; i < SafetyNumber.Iterations; i++)
        {
            digest = SHA512.HashData([.. digest, .. key]);
        }

        var expected = string.Concat(Enumerable.Range(0, 6).Select(chunk =>
        {
            ulong value = 0;
            for (var b = 0; b < 5; b++)
            {
                value = (value << 8) | digest[(chunk * 5) + b];
            }

            return (value % 100000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
        }));
        Assert.Equal(expected, SafetyNumber.Half("dave", key));
    }

    [Fact]
    public void Same_name_on_both_sides_is_ordered_by_key()
    {
        var a = SafetyNumber.Compute("eve", Key(1), "eve", Key(2));
        var b = SafetyNumber.Compute("eve", Key(2), "eve", Key(1));
        Assert.Equal(a, b);
    }

    [Fact]
    public void Format_gives_twelve_groups_of_five()
    {
        var number = SafetyNumber.Compute("alice", Key(1), "bob", Key(2));
        var formatted = SafetyNumber.Format(number);
        var groups = formatted.Split(' ');
        Assert.Equal(12, groups.Length);
        Assert.All(groups, g => Assert.Equal(5, g.Length));
        Assert.Equal(number, string.Concat(groups));

        var lines = SafetyNumber.FormatLines(number).Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Equal(4, l.Split(' ').Length));
    }

    [Fact]
    public void Format_refuses_anything_but_sixty_digits()
    {
        Assert.Throws<ArgumentException>(() => SafetyNumber.Format("123"));
        Assert.Throws<ArgumentException>(() => SafetyNumber.Format(new string('1', 59) + "x"));
    }

    [Fact]
    public void Matches_ignores_spacing_and_catches_a_wrong_digit()
    {
        var number = SafetyNumber.Compute("alice", Key(1), "bob", Key(2));
        Assert.True(SafetyNumber.Matches(number, SafetyNumber.FormatLines(number)));
        var wrong = (number[0] == '0' ? '1' : '0') + number[1..];
        Assert.False(SafetyNumber.Matches(number, SafetyNumber.Format(wrong)));
        Assert.False(SafetyNumber.Matches(number, number[..59]));
    }

    [Fact]
    public void Bad_keys_and_names_are_refused()
    {
        Assert.Throws<ArgumentException>(() => SafetyNumber.Compute("alice", new byte[31], "bob", Key(2)));
        Assert.Throws<ArgumentException>(() => SafetyNumber.Compute("", Key(1), "bob", Key(2)));
        Assert.Throws<ArgumentException>(() => SafetyNumber.Fingerprint(new byte[33]));
    }

    [Fact]
    public void Fingerprint_is_eight_hex_groups_and_depends_on_the_key_only()
    {
        var fingerprint = SafetyNumber.Fingerprint(Key(1));
        var groups = fingerprint.Split(' ');
        Assert.Equal(8, groups.Length);
        Assert.All(groups, g => Assert.Matches("^[0-9A-F]{4}$", g));
        Assert.Equal(fingerprint, SafetyNumber.Fingerprint(Key(1)));
        Assert.NotEqual(fingerprint, SafetyNumber.Fingerprint(Key(2)));

        byte[] input = [0, 1, .. "CipherChat key fingerprint"u8.ToArray(), .. Key(1)];
        Assert.Equal(Convert.ToHexString(SHA256.HashData(input), 0, 16), fingerprint.Replace(" ", string.Empty, StringComparison.Ordinal));
    }
}

public sealed class SafetyNumberQrTests
{
    private static readonly string Number = SafetyNumber.Compute("alice", new byte[32], "bob", Enumerable.Repeat((byte)1, 32).ToArray());

    [Fact]
    public void Payload_carries_the_digits_after_a_versioned_prefix()
    {
        Assert.Equal("CIPHERCHAT-SN1:" + Number, SafetyNumberQr.Payload(Number));
        Assert.Throws<ArgumentException>(() => SafetyNumberQr.Payload("42"));
    }

    [Fact]
    public void Half_blocks_pack_two_rows_per_line()
    {
        // 3x3 matrix: row0 = D L D, row1 = D D L, row2 = L D L (D = dark).
        var modules = new List<BitArray>
        {
            new([true, false, true]),
            new([true, true, false]),
            new([false, true, false]),
        };
        Assert.Equal("\u2588\u2584\u2580\n \u2580 \n", SafetyNumberQr.Render(modules, darkTerminal: false));

        // Inverted for a dark terminal; the missing fourth row counts as light quiet zone (drawn there).
        Assert.Equal(" \u2580\u2584\n\u2588\u2584\u2588\n", SafetyNumberQr.Render(modules, darkTerminal: true));
    }

    [Fact]
    public void Rendered_code_is_square_with_a_light_quiet_zone_and_differs_per_number()
    {
        var text = SafetyNumberQr.Render(Number, darkTerminal: false);
        var lines = text.TrimEnd('\n').Split('\n');
        var width = lines[0].Length;
        Assert.All(lines, l => Assert.Equal(width, l.Length));
        Assert.Equal((width + 1) / 2, lines.Length);

        // The quiet zone (four light modules) around the code: first two lines and the edges are blank.
        Assert.True(string.IsNullOrWhiteSpace(lines[0]) && string.IsNullOrWhiteSpace(lines[1]));
        Assert.All(lines, l => Assert.True(l[..4].Trim().Length == 0 && l[^4..].Trim().Length == 0));

        // The top-left finder pattern starts right after the quiet zone: a full dark row of 7 modules.
        Assert.Contains('\u2588', lines[2]);

        var other = Number[..59] + (Number[59] == '0' ? '1' : '0');
        Assert.NotEqual(text, SafetyNumberQr.Render(other, darkTerminal: false));
    }
}
