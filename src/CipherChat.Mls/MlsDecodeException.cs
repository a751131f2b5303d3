namespace CipherChat.Mls;

/// <summary>Why a byte string could not be decoded; stable numbers, safe to send to a peer.</summary>
public enum MlsDecodeError
{
    /// <summary>Malformed in a way no more specific value describes.</summary>
    Malformed = 0,

    /// <summary>The input ended before the structure did.</summary>
    Truncated = 1,

    /// <summary>Bytes were left over after a complete structure or inside a vector.</summary>
    TrailingBytes = 2,

    /// <summary>A variable-length integer used the reserved 0b11 prefix.</summary>
    InvalidVarIntPrefix = 3,

    /// <summary>A variable-length integer was not in its shortest form.</summary>
    NonMinimalVarInt = 4,

    /// <summary>An optional's presence octet was neither 0 nor 1.</summary>
    InvalidOptional = 5,

    /// <summary>A selector (enum) held a value this implementation cannot decode.</summary>
    UnknownValue = 6,

    /// <summary>The protocol version is not MLS 1.0.</summary>
    UnsupportedVersion = 7,

    /// <summary>A hard limit of the decoder (count or size) was exceeded.</summary>
    LimitExceeded = 8,
}

/// <summary>Malformed bytes: the only exception type the decoders throw.</summary>
public sealed class MlsDecodeException : MlsException
{
    public MlsDecodeException(MlsDecodeError error, string message)
        : base(message)
    {
        Error = error;
    }

    public MlsDecodeException()
        : this(MlsDecodeError.Malformed, "Malformed MLS encoding.")
    {
    }

    public MlsDecodeException(string message)
        : this(MlsDecodeError.Malformed, message)
    {
    }

    public MlsDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = MlsDecodeError.Malformed;
    }

    public MlsDecodeError Error { get; }
}
