using System.Buffers.Binary;

namespace CipherChat.Client.Tests;

public sealed class ClientMessageIdsTests
{
    [Fact]
    public async Task Ids_carry_the_time_first_and_later_ids_sort_after_earlier_ones()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var first = ClientMessageIds.New();
        await Task.Delay(5, TestContext.Current.CancellationToken);
        var second = ClientMessageIds.New();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(16, first.Length);
        Assert.True(first.AsSpan().SequenceCompareTo(second) < 0, "a later id must sort after an earlier one");

        // The first 48 bits are the Unix time in milliseconds (big-endian), then the version nibble 7.
        var millis = (long)(BinaryPrimitives.ReadUInt64BigEndian(first) >> 16);
        Assert.InRange(millis, before, after);
        Assert.Equal(0x70, first[6] & 0xF0);
    }

    [Fact]
    public void Ids_made_in_the_same_millisecond_still_differ()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => Convert.ToHexString(ClientMessageIds.New())).ToHashSet();
        Assert.Equal(10_000, ids.Count);
    }
}
