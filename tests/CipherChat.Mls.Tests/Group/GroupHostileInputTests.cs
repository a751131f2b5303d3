using System.Text;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Tests.Group;

/// <summary>
/// Mutated group messages (flipped bits, cuts, extensions, bytes replaced by huge length prefixes) given to a
/// member: each is either rejected with the library's own exception type or, if it still decodes and verifies,
/// accepted; nothing else escapes, and the member stays usable.
/// </summary>
public sealed class GroupHostileInputTests
{
    [Theory]
    [InlineData(WireFormat.PrivateMessage)]
    [InlineData(WireFormat.PublicMessage)]
    public void Mutated_messages_only_raise_mls_exceptions(WireFormat handshake)
    {
        using var aliceSigner = SignatureKeyPair.Generate();
        using var bobSigner = SignatureKeyPair.Generate();
        using var aliceKp = KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic("alice"u8.ToArray()), aliceSigner);
        using var bobKp = KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic("bob"u8.ToArray()), bobSigner);
        var options = new MlsGroupOptions { HandshakeWireFormat = handshake };
        using var alice = MlsGroup.Create("hostile"u8.ToArray(), aliceKp, aliceSigner, null, options);
        var add = alice.Commit(new CommitOptions { Add = [bobKp.KeyPackage] });
        alice.MergePendingCommit();
        using var bob = MlsGroup.Join((Welcome)add.Welcome!.Body, bobKp, bobSigner, null, options);
        var bobState = bob.Save();

        var samples = new List<byte[]>
        {
            alice.EncryptApplication(Encoding.UTF8.GetBytes(new string('x', 200))).ToBytes(),
            alice.ProposeUpdate().ToBytes(),
        };
        alice.Commit(new CommitOptions { ForcePath = true });
        alice.DiscardPendingCommit();
        samples.Add(alice.Commit(new CommitOptions { ForcePath = true }).Commit.ToBytes());
        alice.DiscardPendingCommit();
        samples.Add(add.Welcome!.ToBytes());

        var random = new Random(20261127);
        var accepted = 0;
        foreach (var sample in samples)
        {
            for (var i = 0; i < 60; i++)
            {
                var mutated = Mutate(sample, random);
                using var member = MlsGroup.Restore(bobState, options);
                try
                {
                    member.Process(MlsMessage.FromBytes(mutated));
                    accepted++;
                }
                catch (MlsException)
                {
                    // The expected outcome for almost every mutation.
                }

                // The member's state is still whole after whatever it was given.
                using var again = MlsGroup.Restore(member.Save(), options);
                Assert.Equal(member.EpochAuthenticator(), again.EpochAuthenticator());
            }
        }

        // A mutation that still authenticates is possible only where bytes are not covered (none here but padding).
        Assert.True(accepted < samples.Count * 60);
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        var bytes = (byte[])input.Clone();
        switch (random.Next(4))
        {
            case 0:
                var at = random.Next(bytes.Length);
                bytes[at] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return [.. bytes, .. extra];
            default:
                // A huge 4-byte varint length prefix (0b10 prefix, up to 2^30 - 1) written over the bytes.
                var pos = random.Next(Math.Max(1, bytes.Length - 4));
                bytes[pos] = 0xBF;
                bytes[pos + 1] = 0xFF;
                bytes[pos + 2] = 0xFF;
                bytes[pos + 3] = 0xF0;
                return bytes;
        }
    }
}
