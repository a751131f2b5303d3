using CipherChat.Protocol.V1;

namespace CipherChat.Protocol;

/// <summary>Small constructors for frames both ends build often.</summary>
public static class Frames
{
    /// <summary>An Error frame answering <paramref name="requestId"/> (0 for none).</summary>
    public static Frame Error(ErrorCode code, string message, ulong requestId = 0) => new()
    {
        RequestId = requestId,
        Error = new Error { Code = code, Message = message, RequestId = requestId },
    };

    /// <summary>The Error frame that reports <paramref name="exception"/> to the peer.</summary>
    public static Frame Error(ProtocolException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Error(exception.Code, exception.Message, exception.RequestId);
    }
}
