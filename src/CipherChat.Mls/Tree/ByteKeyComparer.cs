namespace CipherChat.Mls.Tree;

/// <summary>Content equality for public byte strings (keys, hashes) used as dictionary keys.</summary>
internal sealed class ByteKeyComparer : IEqualityComparer<ReadOnlyMemory<byte>>
{
    public static ByteKeyComparer Instance { get; } = new();

    public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

    public int GetHashCode(ReadOnlyMemory<byte> obj)
    {
        var hash = default(HashCode);
        hash.AddBytes(obj.Span);
        return hash.ToHashCode();
    }
}

/// <summary>A multiset of byte strings, so that uniqueness checks over the tree cost O(1), not O(n).</summary>
internal sealed class ByteKeyCounter
{
    private readonly Dictionary<ReadOnlyMemory<byte>, int> _counts;
    private int _duplicates;

    public ByteKeyCounter()
    {
        _counts = new Dictionary<ReadOnlyMemory<byte>, int>(ByteKeyComparer.Instance);
    }

    private ByteKeyCounter(Dictionary<ReadOnlyMemory<byte>, int> counts)
    {
        _counts = new Dictionary<ReadOnlyMemory<byte>, int>(counts, ByteKeyComparer.Instance);
    }

    /// <summary>True when some value occurs more than once.</summary>
    public bool HasDuplicates => _duplicates > 0;

    public int Count(ReadOnlySpan<byte> key) => _counts.TryGetValue(key.ToArray(), out var n) ? n : 0;

    public int Count(ReadOnlyMemory<byte> key) => _counts.TryGetValue(key, out var n) ? n : 0;

    public void Add(ReadOnlyMemory<byte> key)
    {
        _counts.TryGetValue(key, out var n);
        _counts[key] = n + 1;
        if (n == 1)
        {
            _duplicates++;
        }
    }

    public void Remove(ReadOnlyMemory<byte> key)
    {
        if (!_counts.TryGetValue(key, out var n))
        {
            return;
        }

        if (n == 2)
        {
            _duplicates--;
        }

        if (n <= 1)
        {
            _counts.Remove(key);
        }
        else
        {
            _counts[key] = n - 1;
        }
    }

    public ByteKeyCounter Clone() => new(_counts) { _duplicates = _duplicates };
}
