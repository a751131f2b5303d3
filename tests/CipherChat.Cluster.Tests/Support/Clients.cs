using CipherChat.Protocol.V1;
using CipherChat.Server.Tests.Support;

namespace CipherChat.Cluster.Tests.Support;

/// <summary>Protocol-level helpers over the relay tests' client.</summary>
internal static class Clients
{
    /// <summary>Registers <paramref name="user"/> on a node and joins <paramref name="room"/>.</summary>
    public static async Task<TestClient> MemberAsync(System.Net.IPEndPoint node, string user, string room)
    {
        var client = await TestClient.RegisteredAsync(node, user);
        var joined = await client.JoinAsync(room);
        Assert.True(joined.BodyCase == Frame.BodyOneofCase.JoinRoomOk, $"join failed: {joined}");
        return client;
    }

    /// <summary>Sends and expects SendOk; returns the seq.</summary>
    public static async Task<ulong> SendOkAsync(TestClient client, string room, byte[] payload, byte[]? id = null)
    {
        var reply = await client.SendMessageAsync(room, payload, id);
        Assert.True(reply.BodyCase == Frame.BodyOneofCase.SendOk, $"send failed: {reply}");
        return reply.SendOk.Seq;
    }

    /// <summary>Pushed message events of <paramref name="room"/> until one with seq at least <paramref name="upTo"/> arrives.</summary>
    public static async Task<List<MessageEvent>> PushedUntilAsync(TestClient client, string room, ulong upTo)
    {
        var events = new List<MessageEvent>();
        while (events.Count == 0 || events[^1].Seq < upTo)
        {
            var frame = await client.NextEventAsync();
            if (frame.BodyCase == Frame.BodyOneofCase.MessageEvent && frame.MessageEvent.Room == room)
            {
                events.Add(frame.MessageEvent);
            }
        }

        return events;
    }

    /// <summary>The whole log of <paramref name="room"/> as one member sees it, in pages.</summary>
    public static async Task<List<MessageEvent>> FetchAllAsync(TestClient client, string room)
    {
        var all = new List<MessageEvent>();
        for (var page = 0; page < 1000; page++)
        {
            var reply = await client.FetchAsync(room, all.Count == 0 ? 0 : all[^1].Seq, 500);
            Assert.True(reply.BodyCase == Frame.BodyOneofCase.FetchResult, $"fetch failed: {reply}");
            all.AddRange(reply.FetchResult.Messages);
            if (!reply.FetchResult.HasMore)
            {
                break;
            }
        }

        return all;
    }

    public static void AssertGapFree(IEnumerable<ulong> seqs, ulong first, ulong last) =>
        Assert.Equal(Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (ulong)i), seqs);
}
