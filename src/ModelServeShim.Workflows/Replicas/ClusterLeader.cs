using Medallion.Threading;
using Medallion.Threading.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;

namespace ModelServeShim.Workflows.Replicas;

/// <summary>
/// The election of the replica that does the work that must run once in the cluster (the health monitor, reconciling
/// services with their pipelines, watching the workflow folder). On PostgreSQL the leader holds a session-level advisory
/// lock (DistributedLock.Postgres, <see cref="LockName"/>) on a dedicated connection; every other replica tries it
/// without waiting once per <see cref="ReplicaOptions.PollInterval"/>. PostgreSQL frees the lock the moment the leader's
/// session ends (a stop, a crash, a SIGKILL: the connection is opened with <c>client_connection_check_interval</c>), so
/// another replica becomes the leader within about a second. A leader that loses the lock (its connection broke) stops
/// its leader work at once (<see cref="WaitForLeadershipAsync"/>'s token is cancelled) and tries again like the others.
/// With SQLite the one process is always the leader.
/// </summary>
public sealed class ClusterLeader(
    StateStore store, IOptions<ReplicaOptions> options, ILogger<ClusterLeader> logger) : QuietBackgroundService
{
    /// <summary>The advisory lock's name (hashed to PostgreSQL's 64-bit key).</summary>
    public const string LockName = "model-serve-shim/leader";

    private readonly Lock _gate = new();
    private TaskCompletionSource<CancellationToken> _term = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _termSource;

    /// <summary>Whether this replica is the leader now.</summary>
    public bool IsLeader
    {
        get
        {
            lock (_gate)
            {
                return _termSource is { IsCancellationRequested: false };
            }
        }
    }

    /// <summary>Terms this replica started as the leader (diagnostics and tests).</summary>
    public int Terms { get; private set; }

    /// <summary>
    /// Waits until this replica is the leader; the token returned is cancelled when it stops being the leader (the lock
    /// was lost, or the process stops). Leader work runs under that token.
    /// </summary>
    public Task<CancellationToken> WaitForLeadershipAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _term.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> while holding the cluster-wide lock <paramref name="name"/> (waiting for it, up to
    /// <paramref name="timeout"/>): for work every replica does at start but not two at once (storing the workflow files).
    /// With SQLite it just runs.
    /// </summary>
    public async Task RunExclusiveAsync(string name, TimeSpan timeout, Func<CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (store is not PostgresStateStore postgres)
        {
            await action(cancellationToken).ConfigureAwait(false);
            return;
        }

        var @lock = new PostgresDistributedLock(new PostgresAdvisoryLockKey($"model-serve-shim/{name}", allowHashing: true), postgres.DataSource);
        await using var handle = await @lock.TryAcquireAsync(timeout, cancellationToken).ConfigureAwait(false)
            ?? throw new TimeoutException($"Another replica held the lock '{name}' on the {store.Description} for more than {timeout.TotalSeconds:0} s.");
        await action(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Migrates a context's schema when it is behind (<see cref="MigrationExtensions.MigrateIfBehindAsync"/>). On
    /// PostgreSQL under the cluster-wide lock <c>migrations</c>: EF Core's own migration lock (<c>LOCK TABLE</c> on the
    /// history table) needs the history table to exist, and two replicas starting at once on an empty database would both
    /// create it; with the lock the second one finds the schema up to date.
    /// </summary>
    public Task MigrateAsync(Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade database, CancellationToken cancellationToken) =>
        RunExclusiveAsync("migrations", TimeSpan.FromMinutes(5), ct => database.MigrateIfBehindAsync(ct), cancellationToken);

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        if (store is not PostgresStateStore postgres)
        {
            BeginTerm(stoppingToken);
            return;
        }

        // A dedicated connection (no multiplexing) so that losing it is noticed: keepalive queries every 5 s.
        var @lock = new PostgresDistributedLock(new PostgresAdvisoryLockKey(LockName, allowHashing: true), postgres.LockDataSource,
            o => o.UseMultiplexing(false).KeepaliveCadence(TimeSpan.FromSeconds(5)));
        var interval = options.Value.PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            IDistributedSynchronizationHandle? handle;
            try
            {
                handle = await @lock.TryAcquireAsync(TimeSpan.Zero, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Could not try the leader lock on the {Store}: {Error}", store.Description, e.Message);
                handle = null;
            }

            if (handle is null)
            {
                await Task.Delay(interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            await using (handle)
            {
                using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, handle.HandleLostToken);
                logger.LogInformation("This replica is the leader on the {Store}: it runs the health monitor, the reconciliation and the workflow folder watch", store.Description);
                BeginTerm(lost.Token);
                await Task.Delay(Timeout.InfiniteTimeSpan, lost.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                EndTerm();
                if (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogCritical("Lost the leader lock (the database connection holding it broke): leader work stops; another replica takes it over");
                }
            }
        }
    }

    private void BeginTerm(CancellationToken token)
    {
        lock (_gate)
        {
            _termSource = CancellationTokenSource.CreateLinkedTokenSource(token);
            Terms++;
            _term.TrySetResult(_termSource.Token);
        }
    }

    private void EndTerm()
    {
        lock (_gate)
        {
            _termSource?.Cancel();
            _termSource?.Dispose();
            _termSource = null;
            _term = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
