using CipherChat.Server.Postgres.Tests.Support;
using CipherChat.Server.Storage;
using CipherChat.Server.Tests.Storage;

namespace CipherChat.Server.Postgres.Tests;

/// <summary>The shared store contract, on PostgreSQL.</summary>
public sealed class PostgresChatStoreContractTests : ChatStoreContractTests
{
    private TestDatabase? _database;

    protected override async Task<IChatStore> CreateStoreAsync()
    {
        _database = await TestDatabase.CreateAsync();
        return await PostgresChatStore.OpenAsync(_database.ConnectionString, TestContext.Current.CancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        // InitializeAsync may have skipped before a store existed.
        if (_database is not null)
        {
            await base.DisposeAsync();
            await _database.DisposeAsync();
        }
    }
}
