namespace CipherChat.Mls.TreeMath;

/// <summary>The index of a leaf among the leaves of the ratchet tree (RFC 9420 §4.1).</summary>
public readonly record struct LeafIndex(uint Value) : IComparable<LeafIndex>
{
    /// <summary>The node index of this leaf in the array representation: 2 * leaf.</summary>
    public NodeIndex ToNode() => Value <= uint.MaxValue / 2
        ? new NodeIndex(Value * 2)
        : throw new MlsMisuseException("Leaf index too large for a node index.");

    public int CompareTo(LeafIndex other) => Value.CompareTo(other.Value);

    public override string ToString() => $"leaf {Value}";

    public static bool operator <(LeafIndex left, LeafIndex right) => left.Value < right.Value;

    public static bool operator >(LeafIndex left, LeafIndex right) => left.Value > right.Value;

    public static bool operator <=(LeafIndex left, LeafIndex right) => left.Value <= right.Value;

    public static bool operator >=(LeafIndex left, LeafIndex right) => left.Value >= right.Value;
}

/// <summary>The index of a node in the array representation of the tree (RFC 9420 Appendix C): leaves are even.</summary>
public readonly record struct NodeIndex(uint Value) : IComparable<NodeIndex>
{
    public bool IsLeaf => (Value & 1) == 0;

    /// <summary>The leaf this node is; a parent node has no leaf index.</summary>
    public LeafIndex ToLeaf() => IsLeaf
        ? new LeafIndex(Value / 2)
        : throw new MlsMisuseException("A parent node has no leaf index.");

    public int CompareTo(NodeIndex other) => Value.CompareTo(other.Value);

    public override string ToString() => $"node {Value}";

    public static bool operator <(NodeIndex left, NodeIndex right) => left.Value < right.Value;

    public static bool operator >(NodeIndex left, NodeIndex right) => left.Value > right.Value;

    public static bool operator <=(NodeIndex left, NodeIndex right) => left.Value <= right.Value;

    public static bool operator >=(NodeIndex left, NodeIndex right) => left.Value >= right.Value;
}
