using System.Security.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// Secret bytes (a key, a key-schedule secret, a private key). Equality is constant-time,
/// <see cref="ToString"/> never shows the value, and <see cref="Dispose"/> zeroes the memory.
/// </summary>
public sealed class Secret : IEquatable<Secret>, IDisposable
{
    private readonly byte[] _value;
    private bool _disposed;

    /// <summary>Copies <paramref name="value"/>; the caller keeps ownership of its own buffer.</summary>
    public Secret(ReadOnlySpan<byte> value)
    {
        _value = value.ToArray();
    }

    private Secret(byte[] owned)
    {
        _value = owned;
    }

    /// <summary>Length of the secret in bytes.</summary>
    public int Length => _value.Length;

    /// <summary>The secret bytes. Do not keep the span beyond the lifetime of this object.</summary>
    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _value;
        }
    }

    /// <summary>An all-zero secret of the given length (the RFC 9420 "0" input of the key schedule).</summary>
    public static Secret Zero(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new Secret(new byte[length]);
    }

    /// <summary>Wraps a freshly derived buffer without copying it. The buffer must not be used elsewhere.</summary>
    internal static Secret Own(byte[] buffer) => new(buffer);

    /// <summary>A copy of the bytes, for persistence. The caller is responsible for wiping it.</summary>
    public byte[] ToArray()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_value.Clone();
    }

    /// <summary>An independent copy that can be disposed separately.</summary>
    public Secret Clone() => new(Span);

    public bool Equals(Secret? other)
    {
        if (other is null)
        {
            return false;
        }

        return Span.Length == other.Span.Length && CryptographicOperations.FixedTimeEquals(Span, other.Span);
    }

    /// <summary>Constant-time comparison with raw bytes.</summary>
    public bool Equals(ReadOnlySpan<byte> other) =>
        Span.Length == other.Length && CryptographicOperations.FixedTimeEquals(Span, other);

    public override bool Equals(object? obj) => obj is Secret other && Equals(other);

    // The hash must not depend on the secret bytes.
    public override int GetHashCode() => _value.Length;

    public override string ToString() => "***";

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_value);
            _disposed = true;
        }
    }
}
