using System.Text.Json;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// passive-client-welcome.json and passive-client-handling-commit.json, wire side: every message
/// and tree in a scenario decodes and re-encodes to the same bytes.
/// </summary>
public class PassiveClientWireTests
{
    public static TheoryData<string, int> Scenarios()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in new[] { "passive-client-welcome.json", "passive-client-handling-commit.json" })
        {
            for (var i = 0; i < TestVectors.LoadMls(file).GetArrayLength(); i++)
            {
                data.Add(file, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Every_message_of_the_scenario_round_trips(string file, int index)
    {
        var entry = TestVectors.LoadMls(file)[index];

        AssertMessage(entry.Hex("key_package"), WireFormat.KeyPackage);
        AssertMessage(entry.Hex("welcome"), WireFormat.Welcome);
        if (entry.GetProperty("ratchet_tree").ValueKind == JsonValueKind.String)
        {
            var tree = entry.Hex("ratchet_tree");
            Assert.Equal(tree, RatchetTreeNodes.FromBytes(tree).ToBytes());
        }

        foreach (var epoch in entry.GetProperty("epochs").EnumerateArray())
        {
            foreach (var proposal in epoch.GetProperty("proposals").EnumerateArray())
            {
                AssertMessage(proposal.Hex(), null);
            }

            var commit = MlsMessage.FromBytes(epoch.Hex("commit"));
            Assert.Equal(epoch.Hex("commit"), commit.ToBytes());
            if (commit.Body is PublicMessage pub)
            {
                Assert.Equal(ContentType.Commit, pub.Content.ContentType);
            }
            else
            {
                Assert.Equal(ContentType.Commit, Assert.IsType<PrivateMessage>(commit.Body).ContentType);
            }
        }
    }

    private static void AssertMessage(byte[] bytes, WireFormat? expected)
    {
        var message = MlsMessage.FromBytes(bytes);
        if (expected is not null)
        {
            Assert.Equal(expected, message.WireFormat);
        }

        Assert.Equal(bytes, message.ToBytes());
    }
}
