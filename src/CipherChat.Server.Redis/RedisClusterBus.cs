using System.Globalization;
using System.Text;
using System.Threading.Channels;
using CipherChat.Protocol;
using CipherChat.Server.Delivery;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace CipherChat.Server.Redis;

/// <summary>
/// <see cref="IClusterBus"/> over Redis pub/sub. A node publishes "seq:room" after storing a message;
/// every node (itself included, which it ignores) hears it and pushes the new messages to its own
/// connections, reading them from the shared database. A membership change (an MLS commit, a member
/// leaving) is published as "members:seq:room" (seq 0 without a commit), and every node moves its
/// connections in or out of the room as the database has it.
/// </summary>
/// <remarks>
/// Notifications carry no payload: PostgreSQL is the one source of truth and a node must read the
/// log anyway to deliver without gaps after a lost notification. Ciphertexts (up to the frame limit)
/// are not copied through Redis to nodes that have no member of the room, and a burst of notifications
/// for one room costs one database read. Redis pub/sub drops messages when a node is disconnected, so
/// each node also compares its rooms with the database every <see cref="RedisClusterOptions.CatchUpIntervalSeconds"/>
/// and at once after Redis reconnects: Redis makes delivery fast, never possible.
/// </remarks>
public sealed class RedisClusterBus : IClusterBus
{
    private const int QueueCapacity = 65_536;

    private readonly ConnectionMultiplexer _redis;
    private readonly RedisClusterOptions _options;
    private readonly RedisChannel _channel;
    private readonly ILogger _logger;
    private const string MembershipPrefix = "members:";

    private readonly Channel<Notification> _incoming;
    private readonly Channel<bool> _catchUpRequests = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private DeliveryHub? _hub;
    private Task _notificationLoop = Task.CompletedTask;
    private Task _catchUpLoop = Task.CompletedTask;
    private int _disposed;

    private RedisClusterBus(ConnectionMultiplexer redis, RedisClusterOptions options, ILogger logger)
    {
        _redis = redis;
        _options = options;
        _channel = RedisChannel.Literal(options.Channel);
        _logger = logger;
        _incoming = Channel.CreateBounded<Notification>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
    }

    /// <summary>Whether the connection to Redis is up right now.</summary>
    public bool IsConnected => _redis.IsConnected;

    /// <summary>
    /// Connects to Redis. A Redis that is down does not stop the node: it keeps retrying in the
    /// background and delivers from the database meanwhile.
    /// </summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public static async Task<RedisClusterBus> ConnectAsync(RedisClusterOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CipherChat.Server.Redis");
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(options.Redis!);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("--redis must be HOST:PORT: " + ex.Message, ex);
        }

        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "cipherchat";
        configuration.ConnectTimeout = 5000;
        configuration.ConnectRetry = 1;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        // While Redis is down, publishes fail at once instead of piling up: the database covers them.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        var redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        var bus = new RedisClusterBus(redis, options, logger);
        var endpoint = string.Join(",", configuration.EndPoints.Select(e => e.ToString()));
        if (!redis.IsConnected)
        {
            RedisLog.NotConnected(logger, endpoint);
        }

        RedisLog.Started(logger, endpoint, options.Channel);
        return bus;
    }

    public async Task StartAsync(DeliveryHub hub, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hub);
        if (Interlocked.CompareExchange(ref _hub, hub, null) is not null)
        {
            throw new InvalidOperationException("The bus is already started.");
        }

        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            await _redis.GetSubscriber().SubscribeAsync(_channel, OnNotification).ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // Redis is down: the subscription is made again when it reconnects.
            RedisLog.NotConnected(_logger, _options.Redis!);
        }

        _notificationLoop = Task.Run(() => NotificationLoopAsync(hub, _stop.Token), CancellationToken.None);
        _catchUpLoop = Task.Run(() => CatchUpLoopAsync(hub, _stop.Token), CancellationToken.None);
    }

    public void Publish(string room, ulong seq)
    {
        try
        {
            var value = seq.ToString(CultureInfo.InvariantCulture) + ":" + room;
            _redis.GetSubscriber().Publish(_channel, value, CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RedisLog.PublishFailed(_logger, ex);
        }
    }

    public void PublishMembership(string room, ulong commitSeq)
    {
        try
        {
            var value = MembershipPrefix + commitSeq.ToString(CultureInfo.InvariantCulture) + ":" + room;
            _redis.GetSubscriber().Publish(_channel, value, CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RedisLog.PublishFailed(_logger, ex);
        }
    }

    /// <summary>Asks for a comparison of every local room with the database now.</summary>
    public void RequestCatchUp() => _catchUpRequests.Writer.TryWrite(true);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
        await _stop.CancelAsync().ConfigureAwait(false);
        _incoming.Writer.TryComplete();
        await Task.WhenAll(_notificationLoop, _catchUpLoop).ConfigureAwait(false);
        await _redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        await _redis.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Parses "seq:room"; false for anything else (Redis is shared infrastructure, not trusted input).</summary>
    internal static bool TryParse(ReadOnlySpan<byte> value, out string room, out ulong seq) =>
        TryParseSeqAndRoom(value, allowZero: false, out room, out seq);

    /// <summary>Parses "members:seq:room", seq 0 meaning "no commit"; false for anything else.</summary>
    internal static bool TryParseMembership(ReadOnlySpan<byte> value, out string room, out ulong commitSeq)
    {
        if (!value.StartsWith("members:"u8))
        {
            room = string.Empty;
            commitSeq = 0;
            return false;
        }

        return TryParseSeqAndRoom(value[MembershipPrefix.Length..], allowZero: true, out room, out commitSeq);
    }

    private static bool TryParseSeqAndRoom(ReadOnlySpan<byte> value, bool allowZero, out string room, out ulong seq)
    {
        room = string.Empty;
        seq = 0;
        var colon = value.IndexOf((byte)':');
        if (colon is < 1 or > 20 || value.Length - colon - 1 is < 1 or > 64)
        {
            return false;
        }

        if (!ulong.TryParse(value[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out seq) || (seq == 0 && !allowZero))
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(value[(colon + 1)..]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        if (!NameRules.TryNormalizeAnyRoomName(text, out var name) || !string.Equals(name, text, StringComparison.Ordinal))
        {
            return false;
        }

        room = name;
        return true;
    }

    private void OnNotification(RedisChannel channel, RedisValue value)
    {
        Notification notification;
        if (!value.HasValue)
        {
            RedisLog.Malformed(_logger);
            return;
        }

        var bytes = ((ReadOnlyMemory<byte>)value).Span;
        if (TryParse(bytes, out var room, out var seq))
        {
            notification = new Notification(Membership: false, room, seq);
        }
        else if (TryParseMembership(bytes, out room, out seq))
        {
            notification = new Notification(Membership: true, room, seq);
        }
        else
        {
            RedisLog.Malformed(_logger);
            return;
        }

        if (!_incoming.Writer.TryWrite(notification))
        {
            // The queue is full: the periodic comparison delivers what this notification would have
            // (not a membership change: that waits for the affected clients to log in again).
            if (notification.Membership)
            {
                RedisLog.MembershipDropped(_logger);
            }

            RequestCatchUp();
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        RedisLog.ConnectionLost(_logger, e.FailureType.ToString());

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        RedisLog.ConnectionRestored(_logger);
        RequestCatchUp();
    }

    private async Task NotificationLoopAsync(DeliveryHub hub, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (membership, room, seq) in _incoming.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (membership)
                    {
                        await hub.MembershipChangedAsync(room, seq, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await hub.CatchUpAsync(room, seq, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RedisLog.CatchUpFailed(_logger, ex);
                    RequestCatchUp();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task CatchUpLoopAsync(DeliveryHub hub, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(_options.CatchUpIntervalSeconds);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    wait.CancelAfter(interval);
                    try
                    {
                        await _catchUpRequests.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The interval passed without a request.
                    }
                }

                try
                {
                    await hub.CatchUpAllAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RedisLog.CatchUpFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>A parsed notification: new messages up to Seq, or a membership change through the commit at Seq.</summary>
    private readonly record struct Notification(bool Membership, string Room, ulong Seq);
}
