using Microsoft.Extensions.Logging;

namespace CipherChat.Server.Redis;

/// <summary>Every log line the Redis fan-out writes. Only room names and seqs, never payloads.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Fan-out over Redis {Endpoint} on channel {Channel}")]
    public static partial void Started(ILogger logger, string endpoint, string channel);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Redis is not reachable yet ({Endpoint}); delivering from the database until it is")]
    public static partial void NotConnected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Redis connection lost ({FailureType}); catching up from the database meanwhile")]
    public static partial void ConnectionLost(ILogger logger, string failureType);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Redis connection restored; catching up from the database")]
    public static partial void ConnectionRestored(ILogger logger);

    [LoggerMessage(EventId = 204, Level = LogLevel.Debug, Message = "Publishing to Redis failed; other nodes catch up from the database")]
    public static partial void PublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Catching up from the database failed; retrying")]
    public static partial void CatchUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Ignored a malformed fan-out notification")]
    public static partial void Malformed(ILogger logger);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Dropped a membership notification (queue full); affected connections are corrected when they log in again")]
    public static partial void MembershipDropped(ILogger logger);
}
