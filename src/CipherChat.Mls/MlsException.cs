namespace CipherChat.Mls;

/// <summary>Base type of every failure the MLS library reports on purpose.</summary>
/// <remarks>Messages are short and fixed: they never carry keys, plaintext or peer-controlled bytes.</remarks>
public abstract class MlsException : Exception
{
    protected MlsException()
    {
    }

    protected MlsException(string message)
        : base(message)
    {
    }

    protected MlsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Well-formed input that fails a check required by RFC 9420 (signature, epoch, tree shape, ...).</summary>
public sealed class MlsValidationException : MlsException
{
    public MlsValidationException()
        : base("MLS validation failed.")
    {
    }

    public MlsValidationException(string message)
        : base(message)
    {
    }

    public MlsValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The caller used the library in a way it does not allow (wrong state, value out of range).</summary>
public sealed class MlsMisuseException : MlsException
{
    public MlsMisuseException()
        : base("The MLS library was used incorrectly.")
    {
    }

    public MlsMisuseException(string message)
        : base(message)
    {
    }

    public MlsMisuseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
