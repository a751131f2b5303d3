using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>GroupContext encodings from key-schedule.json (each epoch carries one).</summary>
public class GroupContextTests
{
    public static TheoryData<int, int> Epochs()
    {
        var data = new TheoryData<int, int>();
        var root = TestVectors.LoadMls("key-schedule.json");
        for (var i = 0; i < root.GetArrayLength(); i++)
        {
            for (var e = 0; e < root[i].GetProperty("epochs").GetArrayLength(); e++)
            {
                data.Add(i, e);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Epochs))]
    public void Group_context_decodes_and_reencodes(int index, int epoch)
    {
        var test = TestVectors.LoadMls("key-schedule.json")[index];
        var entry = test.GetProperty("epochs")[epoch];
        var bytes = entry.Hex("group_context");

        var context = GroupContext.FromBytes(bytes);

        Assert.Equal(ProtocolVersion.Mls10, context.Version);
        Assert.Equal(test.GetProperty("cipher_suite").GetUInt16(), (ushort)context.CipherSuite);
        Assert.Equal(test.Hex("group_id"), context.GroupId.ToArray());
        Assert.Equal((ulong)epoch, context.Epoch);
        Assert.Equal(entry.Hex("tree_hash"), context.TreeHash.ToArray());
        Assert.Equal(entry.Hex("confirmed_transcript_hash"), context.ConfirmedTranscriptHash.ToArray());
        Assert.Equal(bytes, context.ToBytes());
    }

    [Fact]
    public void Trailing_bytes_after_a_group_context_are_rejected()
    {
        var bytes = TestVectors.LoadMls("key-schedule.json")[0].GetProperty("epochs")[0].Hex("group_context");
        var ex = Assert.Throws<MlsDecodeException>(() => GroupContext.FromBytes([.. bytes, 0]));
        Assert.Equal(MlsDecodeError.TrailingBytes, ex.Error);
    }
}
