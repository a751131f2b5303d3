using CipherChat.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace CipherChat.Server;

/// <summary>Every log line the server writes. Payloads, keys and signatures are never logged.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {Endpoint} ({Transport})")]
    public static partial void Listening(ILogger logger, string endpoint, string transport);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Shutting down: {Connections} connection(s) open")]
    public static partial void ShuttingDown(ILogger logger, int connections);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Connection {ConnectionId} opened from {Remote}")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, string remote);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Connection {ConnectionId} closed")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Connection {ConnectionId} refused: {Code}")]
    public static partial void ConnectionRefused(ILogger logger, string connectionId, ErrorCode code);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({User}) stopped reading; disconnected")]
    public static partial void SlowConsumer(ILogger logger, string connectionId, string user);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: request refused with {Code}")]
    public static partial void RequestRefused(ILogger logger, string connectionId, ErrorCode code);

    [LoggerMessage(EventId = 15, Level = LogLevel.Debug, Message = "TLS handshake with {Remote} failed ({Reason})")]
    public static partial void TlsHandshakeFailed(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "Accepting a connection failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, System.Net.Sockets.SocketError error);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "User {User} registered")]
    public static partial void UserRegistered(ILogger logger, string user);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Connection {ConnectionId} logged in as {User}")]
    public static partial void LoggedIn(ILogger logger, string connectionId, string user);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Room {Room} created")]
    public static partial void RoomCreated(ILogger logger, string room);

    [LoggerMessage(EventId = 40, Level = LogLevel.Error, Message = "Connection {ConnectionId}: storage failure")]
    public static partial void StoreFailure(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Room {Room}: catching up from the shared database failed; clients will fetch the gap")]
    public static partial void CatchUpFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 41, Level = LogLevel.Error, Message = "Connection {ConnectionId}: unexpected failure")]
    public static partial void ConnectionFailure(ILogger logger, string connectionId, Exception exception);
}
