using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>
/// The member-side work of a commit grows with log n: after the first full hash, creating or
/// processing an UpdatePath recomputes only the node hashes along the committer's path.
/// Counts hash computations, not time.
/// </summary>
public sealed class TreeHashCachingTests : IDisposable
{
    private const int Members = 128;
    private static readonly HashSet<LeafIndex> NoNewMembers = [];
    private readonly TestGroup _group;

    public TreeHashCachingTests()
    {
        _group = new TestGroup("m0");
        _group.Commit(0, add: [.. Enumerable.Range(1, Members - 1).Select(i => "m" + i)]);
        _group.Commit(100);
        _group.Commit(120);
    }

    [Fact]
    public void Creating_and_processing_a_commit_rehashes_only_the_path()
    {
        var depth = ArrayTree.Level(_group.Tree.Root);
        Assert.Equal(7, depth);

        var committerTree = _group.Tree.Clone();
        committerTree.TreeHash();
        var before = committerTree.NodeHashesComputed;
        using var keys = _group.Keys[17].Clone();
        using var created = TreeKem.CreateUpdatePath(committerTree, keys, _group.Client(17).Signer, _group.GroupId, NoNewMembers, _group.Context);
        var createCost = committerTree.NodeHashesComputed - before;

        var receiverTree = _group.Tree.Clone();
        receiverTree.TreeHash();
        before = receiverTree.NodeHashesComputed;
        using var processed = TreeKem.ProcessUpdatePath(
            receiverTree, _group.Keys[110], new LeafIndex(17), created.Path, _group.GroupId, NoNewMembers, [], _group.Context);
        var processCost = receiverTree.NodeHashesComputed - before;

        // The leaf and the 7 nodes above it, once for parent hashes and once for the tree hash.
        Assert.InRange(createCost, 1, 2 * (depth + 1));
        Assert.InRange(processCost, 1, 2 * (depth + 1));
        Assert.Equal(created.CommitSecret.ToArray(), processed.CommitSecret.ToArray());

        // Against a full recomputation, which touches all 255 nodes.
        var fresh = RatchetTree.Decode(receiverTree.Encode());
        Assert.Equal(fresh.TreeHash(), receiverTree.TreeHash());
        Assert.Equal(2 * Members - 1, fresh.NodeHashesComputed);
    }

    public void Dispose() => _group.Dispose();
}
