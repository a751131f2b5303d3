using BenchmarkDotNet.Attributes;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Benchmarks;

/// <summary>Encrypting and decrypting a 200-byte application message in a two-member group.</summary>
[MemoryDiagnoser]
public class ApplicationMessageBenchmarks
{
    private const int Batch = 256;
    private readonly byte[] _payload = new byte[200];
    private MlsFixture _fixture = null!;
    private MlsMessage[] _messages = [];

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new MlsFixture(2);
        new Random(1).NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.Dispose();

    [Benchmark]
    public MlsMessage Encrypt200Bytes() => _fixture.Alice.EncryptApplication(_payload);

    // Each message decrypts once, so every iteration decrypts a fresh batch encrypted in its setup.
    [IterationSetup(Target = nameof(Decrypt200Bytes))]
    public void EncryptBatch() => _messages = [.. Enumerable.Range(0, Batch).Select(_ => _fixture.Alice.EncryptApplication(_payload))];

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Decrypt200Bytes()
    {
        var total = 0;
        foreach (var message in _messages)
        {
            total += ((ReceivedApplicationMessage)_fixture.Bob.Process(message)).Data.Length;
        }

        return total;
    }
}

/// <summary>Adding one member to a group of n (commit with path), processing that commit, joining from a Welcome.</summary>
[MemoryDiagnoser]
public class GroupSizeBenchmarks
{
    private MlsFixture _fixture = null!;
    private MlsMessage _commit = null!;
    private byte[] _bobState = [];
    private MlsGroup? _bob;

    [Params(2, 16, 128, 1024)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new MlsFixture(Members);
        _commit = _fixture.Alice.Commit(new CommitOptions { Add = [_fixture.Newcomer.KeyPackage], ForcePath = true }).Commit;
        _fixture.Alice.DiscardPendingCommit();
        _bobState = _fixture.Bob.Save();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bob?.Dispose();
        _fixture.Dispose();
    }

    /// <summary>Alice commits an Add with an UpdatePath; the commit is discarded, so every run starts from the same state.</summary>
    [Benchmark]
    public CommitResult AddMemberCommit()
    {
        var result = _fixture.Alice.Commit(new CommitOptions { Add = [_fixture.Newcomer.KeyPackage], ForcePath = true });
        _fixture.Alice.DiscardPendingCommit();
        return result;
    }

    // Processing moves bob to the next epoch; each iteration starts from bob's saved state.
    [IterationSetup(Target = nameof(ProcessAddCommit))]
    public void RestoreBob()
    {
        _bob?.Dispose();
        _bob = MlsGroup.Restore(_bobState);
    }

    /// <summary>Bob processes alice's Add commit (decrypts one path secret, merges the path, new epoch).</summary>
    [Benchmark]
    public ReceivedMessage ProcessAddCommit() => _bob!.Process(_commit);

    /// <summary>Bob joins from the Welcome (ratchet tree in the Welcome: decode, verify every leaf and parent hash).</summary>
    [Benchmark]
    public MlsGroup JoinFromWelcome()
    {
        var group = MlsGroup.Join(_fixture.Welcome, _fixture.BobKeyPackage, _fixture.BobSigner);
        group.Dispose();
        return group;
    }
}
