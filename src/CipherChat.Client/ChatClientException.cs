namespace CipherChat.Client;

/// <summary>
/// Base of every failure the client reports to its user. <see cref="Exception.Message"/> is one
/// line, safe to print: it never carries keys, message text or raw server bytes.
/// </summary>
public class ChatClientException : Exception
{
    public ChatClientException()
    {
    }

    public ChatClientException(string message)
        : base(message)
    {
    }

    public ChatClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A room or user name that breaks the naming rules.</summary>
public sealed class InvalidNameException : ChatClientException
{
    public InvalidNameException()
    {
    }

    public InvalidNameException(string message)
        : base(message)
    {
    }

    public InvalidNameException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A feature that the product names but this version does not offer yet.</summary>
public sealed class NotYetAvailableException : ChatClientException
{
    public NotYetAvailableException()
    {
    }

    public NotYetAvailableException(string message)
        : base(message)
    {
    }

    public NotYetAvailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The local state is missing something the command needs (not registered, not in the room...).</summary>
public sealed class ClientStateException : ChatClientException
{
    public ClientStateException()
    {
    }

    public ClientStateException(string message)
        : base(message)
    {
    }

    public ClientStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server presented an identity that differs from the one pinned on first use.</summary>
public sealed class ServerIdentityChangedException : ChatClientException
{
    public ServerIdentityChangedException()
    {
    }

    public ServerIdentityChangedException(string message)
        : base(message)
    {
    }

    public ServerIdentityChangedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server could not be reached, or the connection broke.</summary>
public sealed class ConnectionFailedException : ChatClientException
{
    public ConnectionFailedException()
    {
    }

    public ConnectionFailedException(string message)
        : base(message)
    {
    }

    public ConnectionFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
