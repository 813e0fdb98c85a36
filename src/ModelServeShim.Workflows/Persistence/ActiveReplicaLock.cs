using Medallion.Threading;
using Medallion.Threading.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Persistence.Postgres;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// On PostgreSQL, one replica at a time is active: it holds a session-level advisory lock (DistributedLock.Postgres)
/// for as long as it runs the runtime and the control plane. Another replica started on the same database waits at
/// start, before the schema migration, as a standby (its HTTP port is not open yet, so a load balancer's health check
/// keeps traffic on the active one) and takes over when the active one's session ends — a stop, a crash, a SIGKILL —
/// resuming the instances it left exactly as a restart would (concluded steps are not run again; the step in flight
/// runs again after an <c>Interrupted</c> attempt). If the active replica loses the lock (its connection to the
/// database broke), it stops itself, so that no instance ever runs on two replicas. SQLite is one process: always active.
/// </summary>
/// <remarks>Active-active replicas (instance leases, an elected replica for once-per-cluster work) are not built yet; see docs/ha.md.</remarks>
public sealed class ActiveReplicaLock(
    StateStore store, TimeProvider time, IEnumerable<IStandbyCheck> checks, ILogger<ActiveReplicaLock> logger, IHostApplicationLifetime? lifetime = null)
    : IAsyncDisposable
{
    /// <summary>The advisory lock's name (hashed to PostgreSQL's 64-bit key).</summary>
    public const string LockName = "model-serve-shim/active-replica";

    /// <summary>How often a standby tries the lock.</summary>
    public static readonly TimeSpan StandbyPollInterval = TimeSpan.FromSeconds(1);

    private IDistributedSynchronizationHandle? _handle;
    private bool _waiting;

    /// <summary>Whether this replica is the active one.</summary>
    public bool IsActive => store.Provider == StateProvider.Sqlite || _handle is not null;

    /// <summary>Takes the lock, waiting as a standby while another replica holds it.</summary>
    public async Task AcquireAsync(CancellationToken cancellationToken)
    {
        if (store is not PostgresStateStore postgres || _handle is not null)
        {
            return;
        }

        // A dedicated connection (no multiplexing) so that losing it is noticed: keepalive queries every 5 s.
        var @lock = new PostgresDistributedLock(new PostgresAdvisoryLockKey(LockName, allowHashing: true), postgres.LockDataSource,
            o => o.UseMultiplexing(false).KeepaliveCadence(TimeSpan.FromSeconds(5)));
        // Polled rather than a blocking acquire: PostgreSQL frees the lock the moment the active replica's session ends,
        // and a try every second notices that within the second.
        while ((_handle = await @lock.TryAcquireAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false)) is null)
        {
            if (!_waiting)
            {
                if (checks.Select(c => c.RefuseStandby()).FirstOrDefault(r => r is not null) is { } refusal)
                {
                    throw new StateStoreUnavailableException($"Another replica is active on the {store.Description}, and this one cannot be its standby: {refusal}");
                }

                _waiting = true;
                logger.LogWarning("Another replica is active on the {Store}: this one waits as a standby and takes over when that one stops", store.Description);
            }

            await Task.Delay(StandbyPollInterval, time, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation("This replica is the active one on the {Store}", store.Description);
        _handle.HandleLostToken.Register(() =>
        {
            logger.LogCritical("Lost the active-replica lock (the database connection holding it broke): stopping, so that no instance runs on two replicas");
            lifetime?.StopApplication();
        });
    }

    /// <summary>Releases the lock (a standby takes over).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _handle, null) is { } handle)
        {
            await handle.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Something that makes a replica unfit to be a standby (and take over) — checked when another replica is active.</summary>
public interface IStandbyCheck
{
    /// <summary>Why this replica must not wait as a standby, or null when it may.</summary>
    string? RefuseStandby();
}
