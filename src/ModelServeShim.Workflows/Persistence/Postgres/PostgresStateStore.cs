using System.Diagnostics;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ModelServeShim.Workflows.Persistence.Postgres;

/// <summary>
/// A PostgreSQL database: one <see cref="NpgsqlDataSource"/> (connection pool, automatic preparation of the statements
/// used most) shared by the contexts and the <see cref="PostgresStateWriter"/>. The password is handed to Npgsql by a
/// password provider when a physical connection opens (read from <see cref="StateOptions.PasswordFile"/> each time,
/// so a rotated secret is picked up): it is never part of a connection string, so it cannot reach a log line.
/// </summary>
public sealed class PostgresStateStore : StateStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeSpan _startTimeout;

    /// <summary>Creates the store from validated options (<see cref="StateOptionsValidator"/>).</summary>
    public PostgresStateStore(StateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = Build(options, out var csb);
        Host = csb.Host ?? "";
        Port = csb.Port;
        Database = csb.Database ?? "";
        Username = csb.Username ?? "";
        _startTimeout = options.StartTimeout;

        // The lock connection runs DistributedLock's monitoring query for as long as the replica lives; PostgreSQL checks
        // every second whether its client is still there, so a killed replica's session (and lock) ends at once instead
        // of when the running query would have finished.
        LockDataSource = Build(options, out _, "-c client_connection_check_interval=1000");
    }

    /// <summary>
    /// The notification channel of journal appends (sent by the state writer at the commit of a batch that appended
    /// entries): the payload is the instances' ids separated by newlines, or empty when they do not fit in one
    /// notification (every followed instance should look).
    /// </summary>
    public const string JournalChannel = "model_serve_shim_journal";

    /// <summary>The server's host.</summary>
    public string Host { get; }

    /// <summary>The server's port.</summary>
    public int Port { get; }

    /// <summary>The database.</summary>
    public string Database { get; }

    /// <summary>The user.</summary>
    public string Username { get; }

    /// <summary>The connection pool (also for anything that needs plain connections).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Connections for session-level locks held for a long time (<see cref="Replicas.ClusterLeader"/>): they notice a vanished client within a second.</summary>
    public NpgsqlDataSource LockDataSource { get; }

    /// <inheritdoc />
    public override StateProvider Provider => StateProvider.Postgres;

    /// <inheritdoc />
    public override string Description => $"PostgreSQL database {Database} at {Host}:{Port} as {Username}";

    /// <inheritdoc />
    public override void Configure(DbContextOptionsBuilder builder, string? historyTable, Assembly migrationsAssembly)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(migrationsAssembly);
        builder.UseNpgsql(_dataSource, o =>
        {
            o.MigrationsAssembly(migrationsAssembly.FullName);
            if (historyTable is not null)
            {
                o.MigrationsHistoryTable(historyTable);
            }

            // Npgsql's strategy retries what PostgreSQL marks transient (connection loss, serialization failures).
            o.EnableRetryOnFailure(maxRetryCount: 5, maxRetryDelay: TimeSpan.FromSeconds(5), errorCodesToAdd: null);
        });
    }

    /// <inheritdoc />
    public override async Task WaitUntilReachableAsync(ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var attempts = 0;
        Exception? last = null;
        var watch = Stopwatch.StartNew();
        var pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(_startTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                // Only what Npgsql marks transient (refused, reset, timed out, the server starting up) is worth waiting for;
                // a wrong password or a missing database fails at once.
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient).Handle<TimeoutException>(),
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(5),
                MaxRetryAttempts = int.MaxValue,
                UseJitter = true,
                OnRetry = a =>
                {
                    last = a.Outcome.Exception;
                    logger.LogWarning("Cannot reach {Store} (attempt {Attempt}: {Error}); retrying in {Delay:0.0} s",
                        Description, a.AttemptNumber + 1, a.Outcome.Exception?.Message, a.RetryDelay.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        try
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                attempts++;
                await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new StateStoreUnavailableException(
                $"Cannot reach the {Description} after {attempts} attempt(s) in {watch.Elapsed.TotalSeconds:0} s (State:StartTimeout): {last?.Message ?? "no answer"}", last ?? e);
        }
        catch (NpgsqlException e)
        {
            throw new StateStoreUnavailableException($"Cannot use the {Description}: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    internal override IStateWriter CreateStateWriter() => new PostgresStateWriter(_dataSource);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await LockDataSource.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static NpgsqlDataSource Build(StateOptions options, out NpgsqlConnectionStringBuilder csb, string? serverOptions = null)
    {
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        csb = builder.ConnectionStringBuilder;
        csb.Timeout = options.ConnectTimeoutSeconds;
        if (csb.MaxAutoPrepare == 0)
        {
            // The writer's and the contexts' statements repeat: prepare the most used ones on each connection.
            csb.MaxAutoPrepare = 64;
        }

        if (string.IsNullOrEmpty(csb.ApplicationName))
        {
            csb.ApplicationName = "model-serve-shim";
        }

        if (serverOptions is not null)
        {
            csb.Options = string.IsNullOrEmpty(csb.Options) ? serverOptions : $"{csb.Options} {serverOptions}";
        }

        var password = options.Password;
        var file = options.PasswordFile;
        if (password is not null || file is not null)
        {
            builder.UsePasswordProvider(
                _ => password ?? ReadPasswordFile(file!),
                async (_, ct) => password ?? (await File.ReadAllTextAsync(file!, ct).ConfigureAwait(false)).TrimEnd('\r', '\n'));
        }

        return builder.Build();
    }

    private static string ReadPasswordFile(string file) => File.ReadAllText(file).TrimEnd('\r', '\n');
}
