namespace CipherChat.Client.Fernet;

/// <summary>A Fernet key or token was malformed, did not verify, or is outside its time window.</summary>
public sealed class FernetException : Exception
{
    public FernetException(string message)
        : base(message)
    {
    }

    public FernetException()
    {
    }

    public FernetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
