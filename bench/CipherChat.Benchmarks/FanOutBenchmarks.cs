using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using CipherChat.Protocol;
using CipherChat.Server;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;

namespace CipherChat.Benchmarks;

/// <summary>
/// The server's delivery path without sockets or disk: one message stored (in memory) and fanned out
/// to every member of a room, each member a bounded queue like a connection's outgoing one. The
/// allocation column, divided by the recipients, is what each delivery costs the garbage collector.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
    private readonly byte[] _payload = new byte[356];
    private DeliveryHub _hub = null!;
    private QueueTarget[] _members = [];
    private long _counter;

    [Params(1, 100)]
    public int Recipients { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var store = new InMemoryChatStore();
        _hub = new DeliveryHub(store, new ServerMetrics(), ProtocolLimits.DefaultMaxFrameBytes);
        _members = new QueueTarget[Recipients + 1];
        for (var i = 0; i < _members.Length; i++)
        {
            var user = "u" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await store.RegisterUserAsync(user, new byte[32], null, Now, CancellationToken.None);
            await store.JoinRoomAsync("room", RoomKind.Psk, new byte[16], user, Now, CancellationToken.None);
            _members[i] = new QueueTarget(user);
            _hub.Connect(_members[i], ["room"]);
        }
    }

    [Benchmark]
    public async Task<ulong> SendToRoom()
    {
        var id = new byte[16];
        BitConverter.TryWriteBytes(id, ++_counter);
        var outcome = await _hub.SendAsync(new NewMessage("room", "u0", id, _payload, Now), _members[0], CancellationToken.None);
        for (var i = 1; i < _members.Length; i++)
        {
            _members[i].Drain();
        }

        return outcome.Seq;
    }

    /// <summary>A connection's outgoing queue (as ChatConnection has), drained by the benchmark.</summary>
    private sealed class QueueTarget(string user) : IDeliveryTarget
    {
        private readonly Channel<ReadOnlyMemory<byte>> _queue = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(256)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public string User => user;

        public bool TryDeliver(ReadOnlyMemory<byte> encodedFrame) => _queue.Writer.TryWrite(encodedFrame);

        public void Drain()
        {
            while (_queue.Reader.TryRead(out _))
            {
            }
        }
    }
}
