using CipherChat.Protocol.V1;

namespace CipherChat.Protocol;

/// <summary>
/// The one exception the protocol layer throws for bad input: a malformed or oversized frame, an
/// unknown message, or a message that breaks the protocol's rules. It carries the code the peer is told.
/// </summary>
/// <remarks>The message is short and fixed text; it never contains bytes from the peer.</remarks>
public sealed class ProtocolException : Exception
{
    public ProtocolException()
        : this(ErrorCode.MalformedFrame, "malformed frame")
    {
    }

    public ProtocolException(string message)
        : this(ErrorCode.MalformedFrame, message)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = ErrorCode.MalformedFrame;
    }

    public ProtocolException(ErrorCode code, string message, ulong requestId = 0, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        RequestId = requestId;
    }

    /// <summary>The numeric code sent to the peer in an <see cref="Error"/> frame.</summary>
    public ErrorCode Code { get; }

    /// <summary>The request id of the offending frame when it could be read, else 0.</summary>
    public ulong RequestId { get; }

    /// <summary>Whether the connection must be closed after reporting this error.</summary>
    public bool IsFatal => Code is not ErrorCode.UnknownMessage;
}
