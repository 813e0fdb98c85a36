using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Persistence.Postgres;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// The database that holds the state, chosen by <see cref="StateOptions.Provider"/>: it configures the contexts
/// (provider, migrations, history table), makes the runtime's <see cref="IStateWriter"/> and waits for the database
/// at start. One per process (a singleton); the runtime and the control plane share it.
/// </summary>
public abstract class StateStore : IAsyncDisposable
{
    /// <summary>The provider.</summary>
    public abstract StateProvider Provider { get; }

    /// <summary>Where the state is, for people and logs (never a password).</summary>
    public abstract string Description { get; }

    /// <summary>
    /// Configures a context: the provider, the history table (null: EF Core's default) and the assembly holding the
    /// context's migrations for this provider.
    /// </summary>
    public abstract void Configure(DbContextOptionsBuilder builder, string? historyTable, Assembly migrationsAssembly);

    /// <summary>Waits until the database answers; throws <see cref="StateStoreUnavailableException"/> when it gives up.</summary>
    public abstract Task WaitUntilReachableAsync(ILogger logger, CancellationToken cancellationToken);

    /// <summary>The writer of the runtime's hot changes for this provider.</summary>
    internal abstract IStateWriter CreateStateWriter();

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The SQLite file (WAL) in the data directory.</summary>
/// <param name="path">The file.</param>
public sealed class SqliteStateStore(string path) : StateStore
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc />
    public override StateProvider Provider => StateProvider.Sqlite;

    /// <inheritdoc />
    public override string Description => $"SQLite file {Path}";

    /// <inheritdoc />
    public override void Configure(DbContextOptionsBuilder builder, string? historyTable, Assembly migrationsAssembly)
    {
        ArgumentNullException.ThrowIfNull(migrationsAssembly);
        builder.UseWorkflowSqlite(Path).UseSqlite(o =>
        {
            o.MigrationsAssembly(migrationsAssembly.FullName);
            if (historyTable is not null)
            {
                o.MigrationsHistoryTable(historyTable);
            }
        });
    }

    /// <inheritdoc />
    public override Task WaitUntilReachableAsync(ILogger logger, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    internal override IStateWriter CreateStateWriter() => SqliteSetup.CreateStateWriter(Path);
}

/// <summary>The state store could not be reached at start; the message names where (never the password) and why.</summary>
public sealed class StateStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StateStoreUnavailableException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StateStoreUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public StateStoreUnavailableException(string message)
        : base(message)
    {
    }
}

/// <summary>Hands out the provider's context type (a subclass with its own migrations) as the base context the code asks for.</summary>
internal sealed class ProviderContextFactory<TContext, TProviderContext>(IDbContextFactory<TProviderContext> inner) : IDbContextFactory<TContext>
    where TContext : DbContext
    where TProviderContext : TContext
{
    public TContext CreateDbContext() => inner.CreateDbContext();

    public async Task<TContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
        await inner.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
}
