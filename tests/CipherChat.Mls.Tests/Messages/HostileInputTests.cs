using System.Text.Json;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// Mutated copies of the valid messages in messages.json, fed to every decoder. The only
/// acceptable outcomes are <see cref="MlsDecodeException"/> or a value that re-encodes to the
/// exact input (the encoding is canonical). Fixed seed, bounded iterations.
/// </summary>
public class HostileInputTests
{
    private const int Seed = 9420;
    private const int MutantsPerSample = 16;
    private const int MaxFailuresReported = 20;

    private static readonly byte[][] HugeLengths =
    [
        [0xbf, 0xff, 0xff, 0xff],
        [0x7f, 0xff],
        [0x80, 0x40, 0x00, 0x00],
        [0x3f],
        [0xff, 0xff, 0xff, 0xff],
        [0x40, 0x00],
    ];

    private static List<(string Label, byte[] Bytes)> Corpus()
    {
        var root = TestVectors.LoadMls("messages.json");
        var corpus = new List<(string, byte[])>();
        for (var i = 0; i < root.GetArrayLength(); i += 10)
        {
            foreach (var field in MessagesVectorTests.Fields)
            {
                if (root[i].GetProperty(field).ValueKind == JsonValueKind.String)
                {
                    corpus.Add(($"{field}[{i}]", root[i].Hex(field)));
                }
            }
        }

        return corpus;
    }

    private static void Check(string decoderName, Func<byte[], byte[]> roundTrip, string label, byte[] input, List<string> failures)
    {
        byte[] output;
        try
        {
            output = roundTrip(input);
        }
        catch (MlsDecodeException)
        {
            return;
        }
#pragma warning disable CA1031 // The test's point is to catch and report any other exception type.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (failures.Count < MaxFailuresReported)
            {
                failures.Add($"{decoderName} on {label}: {ex.GetType().Name}: {ex.Message}");
            }

            return;
        }

        if (!output.AsSpan().SequenceEqual(input) && failures.Count < MaxFailuresReported)
        {
            failures.Add($"{decoderName} on {label}: accepted but re-encoded differently");
        }
    }

    private static byte[] Mutate(Random random, byte[] original, out string kind)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(7))
        {
            case 0:
                {
                    var flips = random.Next(1, 9);
                    for (var i = 0; i < flips; i++)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    kind = $"flip{flips}";
                    return bytes;
                }

            case 1:
                {
                    var cut = random.Next(bytes.Length);
                    kind = $"cut@{cut}";
                    return bytes[..cut];
                }

            case 2:
                {
                    var junk = new byte[random.Next(1, 64)];
                    random.NextBytes(junk);
                    kind = $"extend{junk.Length}";
                    return [.. bytes, .. junk];
                }

            case 3:
                {
                    var huge = HugeLengths[random.Next(HugeLengths.Length)];
                    var at = random.Next(Math.Max(1, bytes.Length - huge.Length + 1));
                    huge.AsSpan(0, Math.Min(huge.Length, bytes.Length - at)).CopyTo(bytes.AsSpan(at));
                    kind = $"length{Convert.ToHexString(huge)}@{at}";
                    return bytes;
                }

            case 4:
                {
                    var at = random.Next(bytes.Length);
                    var count = random.Next(1, Math.Min(32, bytes.Length - at) + 1);
                    kind = $"delete{count}@{at}";
                    return [.. bytes[..at], .. bytes[(at + count)..]];
                }

            case 5:
                {
                    var at = random.Next(bytes.Length + 1);
                    var insert = new byte[random.Next(1, 16)];
                    random.NextBytes(insert);
                    kind = $"insert{insert.Length}@{at}";
                    return [.. bytes[..at], .. insert, .. bytes[at..]];
                }

            default:
                {
                    var at = random.Next(bytes.Length);
                    bytes[at] = (byte)random.Next(256);
                    kind = $"byte@{at}";
                    return bytes;
                }
        }
    }

    [Fact]
    public void Mutated_messages_fail_only_with_MlsDecodeException()
    {
        var random = new Random(Seed);
        var failures = new List<string>();
        var decoders = WireCodecs.All;
        var decoded = 0;

        foreach (var (label, original) in Corpus())
        {
            var own = WireCodecs.ForField(label[..label.IndexOf('[', StringComparison.Ordinal)]);
            for (var m = 0; m < MutantsPerSample; m++)
            {
                var mutant = Mutate(random, original, out var kind);
                var where = $"{label} {kind}";
                Check("own", own, where, mutant, failures);
                var (name, other) = decoders[random.Next(decoders.Count)];
                Check(name, other, where, mutant, failures);
                decoded += 2;
            }
        }

        Assert.True(decoded > 5000, "the corpus should not be empty");
        Assert.Empty(failures);
    }

    [Fact]
    public void Every_decoder_survives_every_cut_of_some_messages()
    {
        var failures = new List<string>();
        var root = TestVectors.LoadMls("messages.json");
        string[] fields = ["mls_welcome", "public_message_commit", "ratchet_tree", "commit"];
        foreach (var field in fields)
        {
            var bytes = root[1].Hex(field);
            foreach (var (name, roundTrip) in WireCodecs.All)
            {
                for (var cut = 0; cut <= bytes.Length; cut += 3)
                {
                    Check(name, roundTrip, $"{field}[1] cut@{cut}", bytes[..cut], failures);
                    Check(name, roundTrip, $"{field}[1] from@{cut}", bytes[cut..], failures);
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void Random_bytes_fail_only_with_MlsDecodeException()
    {
        var random = new Random(Seed + 1);
        var failures = new List<string>();
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);

            // Start like an MLS 1.0 message half of the time so the body decoders are reached.
            if (i % 2 == 0 && bytes.Length >= 4)
            {
                bytes[0] = 0;
                bytes[1] = 1;
                bytes[2] = 0;
                bytes[3] = (byte)random.Next(1, 6);
            }

            foreach (var (name, roundTrip) in WireCodecs.All)
            {
                Check(name, roundTrip, $"random#{i}", bytes, failures);
            }
        }

        Assert.Empty(failures);
    }
}
