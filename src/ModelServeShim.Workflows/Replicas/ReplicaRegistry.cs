using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;
using Npgsql;

namespace ModelServeShim.Workflows.Replicas;

/// <summary>
/// This replica in the registry of replicas sharing the database (<c>workflow_replicas</c>), and the queries of instance
/// ownership: the claim of orphaned instances (their owner's heartbeat is older than <see cref="ReplicaOptions.LeaseTtl"/>,
/// or its row is gone) with <c>FOR UPDATE SKIP LOCKED</c>, and the cancel requests recorded for an owner. On SQLite there
/// is one process: <see cref="IsShared"/> is false, nothing is registered and every instance is this process's.
/// </summary>
public sealed class ReplicaRegistry
{
    private static readonly Func<DateTimeOffset, long> ToBinary = new DateTimeOffsetToBinaryConverter().ConvertToProviderExpression.Compile();

    // Locks candidates whose owner looked dead in this statement's snapshot. A row another replica claimed meanwhile is
    // returned in its new version (READ COMMITTED re-checks only this table's conditions, not the replica join), so the
    // owners are checked again below against a fresh read of the live replicas, while the rows stay locked.
    private const string LockCandidatesSql = """
        SELECT i."Id", i."Owner" FROM workflow_instances i
        WHERE i."Status" IN ('Pending', 'Running', 'Suspended')
          AND (i."Owner" IS NULL OR i."Owner" <> $1)
          AND NOT EXISTS (SELECT 1 FROM workflow_replicas r WHERE r."Id" = i."Owner" AND r."HeartbeatAt" >= $2)
        ORDER BY i."CreatedAt"
        LIMIT $3
        FOR UPDATE OF i SKIP LOCKED
        """;

    private const string LiveReplicasSql = """SELECT "Id" FROM workflow_replicas WHERE "HeartbeatAt" >= $1""";

    private const string ClaimSql = """UPDATE workflow_instances SET "Owner" = $1 WHERE "Id" = ANY($2)""";

    private static readonly InstanceStatus[] Active = [InstanceStatus.Pending, InstanceStatus.Running, InstanceStatus.Suspended];

    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly StateStore _store;
    private readonly ReplicaOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates this replica's identity.</summary>
    public ReplicaRegistry(IDbContextFactory<WorkflowDbContext> db, StateStore store, IOptions<ReplicaOptions> options, ReplicaClock clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _store = store;
        _options = options.Value;
        _time = clock.Time;
        Host = Environment.MachineName;
        ProcessId = Environment.ProcessId;
        Id = $"{Host}/{ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>This replica's id (the owner written on the instances it runs).</summary>
    public string Id { get; }

    /// <summary>The machine.</summary>
    public string Host { get; }

    /// <summary>The process id.</summary>
    public int ProcessId { get; }

    /// <summary>Whether replicas may share the database (PostgreSQL): only then are leases kept.</summary>
    public bool IsShared => _store.Provider == StateProvider.Postgres;

    /// <summary>The lease settings.</summary>
    public ReplicaOptions Options => _options;

    /// <summary>The heartbeat clock.</summary>
    internal TimeProvider Time => _time;

    /// <summary>Writes this replica's row.</summary>
    public async Task RegisterAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var now = _time.GetUtcNow();
        db.Replicas.Add(new ReplicaRecord { Id = Id, Host = Host, ProcessId = ProcessId, StartedAt = now, HeartbeatAt = now });
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The other replicas whose heartbeat is younger than the lease.</summary>
    public async Task<List<ReplicaRecord>> LiveOthersAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var alive = _time.GetUtcNow() - _options.LeaseTtl;
        return await db.Replicas.AsNoTracking().Where(r => r.Id != Id && r.HeartbeatAt >= alive).OrderBy(r => r.StartedAt).ToListAsync(cancellationToken);
    }

    /// <summary>Renews the lease; false when this replica's row is gone (another replica declared it dead).</summary>
    public async Task<bool> HeartbeatAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var now = _time.GetUtcNow();
        return await db.Replicas.Where(r => r.Id == Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.HeartbeatAt, now), cancellationToken) == 1;
    }

    /// <summary>Removes this replica's row after its runs stopped: the others take its instances over at once.</summary>
    public async Task DeregisterAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await db.Replicas.Where(r => r.Id == Id).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// Makes this replica the owner of up to <see cref="ReplicaOptions.TakeoverBatch"/> unfinished instances whose owner's
    /// lease expired (or that have none), oldest first; rows another replica is claiming at the same moment are skipped.
    /// </summary>
    /// <returns>The claimed instance ids.</returns>
    public async Task<List<string>> ClaimOrphansAsync(CancellationToken cancellationToken)
    {
        var claimed = new List<string>();
        if (_store is not PostgresStateStore postgres)
        {
            return claimed;
        }

        var expired = ToBinary(_time.GetUtcNow() - _options.LeaseTtl);
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var candidates = new List<(string Id, string? Owner)>();
        await using (var select = new NpgsqlCommand(LockCandidatesSql, connection, transaction)
        {
            Parameters = { new() { Value = Id }, new() { Value = expired }, new() { Value = _options.TakeoverBatch } },
        })
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
            }
        }

        if (candidates.Count == 0)
        {
            return claimed;
        }

        var live = new HashSet<string>(StringComparer.Ordinal);
        await using (var replicas = new NpgsqlCommand(LiveReplicasSql, connection, transaction) { Parameters = { new() { Value = expired } } })
        await using (var reader = await replicas.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                live.Add(reader.GetString(0));
            }
        }

        claimed.AddRange(candidates.Where(c => c.Owner is null || (c.Owner != Id && !live.Contains(c.Owner))).Select(c => c.Id));
        if (claimed.Count > 0)
        {
            await using var update = new NpgsqlCommand(ClaimSql, connection, transaction) { Parameters = { new() { Value = Id }, new() { Value = claimed.ToArray() } } };
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return claimed;
    }

    /// <summary>Removes the rows of replicas whose lease expired and that own no unfinished instance any more.</summary>
    public async Task<int> ForgetDeadAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var expired = _time.GetUtcNow() - _options.LeaseTtl;
        return await db.Replicas
            .Where(r => r.HeartbeatAt < expired && !db.Instances.Any(i => i.Owner == r.Id && Active.Contains(i.Status)))
            .ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// Records a cancel for the replica that runs the instance (the first request is kept); false when the instance is not
    /// Pending, Running or Suspended.
    /// </summary>
    public async Task<bool> RequestCancelAsync(string instanceId, string reason, string by, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Instances.Where(i => i.Id == instanceId && Active.Contains(i.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(i => i.CancelReason, i => i.CancelReason ?? reason)
                .SetProperty(i => i.CancelRequestedBy, i => i.CancelRequestedBy ?? by), cancellationToken) == 1;
    }

    /// <summary>The cancels recorded for unfinished instances this replica owns.</summary>
    public async Task<List<(string Id, string Reason, string By)>> CancelRequestsAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = await db.Instances.AsNoTracking()
            .Where(i => i.Owner == Id && Active.Contains(i.Status) && i.CancelReason != null)
            .Select(i => new { i.Id, i.CancelReason, i.CancelRequestedBy })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Id, r.CancelReason!, r.CancelRequestedBy ?? "unknown"))];
    }

    /// <summary>Of <paramref name="instanceIds"/>, those another replica owns now (their lease was taken over).</summary>
    public async Task<List<string>> OwnedByOthersAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        if (instanceIds.Count == 0)
        {
            return [];
        }

        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Instances.AsNoTracking().Where(i => instanceIds.Contains(i.Id) && i.Owner != null && i.Owner != Id)
            .Select(i => i.Id).ToListAsync(cancellationToken);
    }

    /// <summary>Of the bookmarks <paramref name="bookmarkIds"/>, those resolved (possibly by another replica).</summary>
    public async Task<List<BookmarkRecord>> ResolvedAsync(IReadOnlyCollection<Guid> bookmarkIds, CancellationToken cancellationToken)
    {
        if (bookmarkIds.Count == 0)
        {
            return [];
        }

        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Bookmarks.AsNoTracking().Where(b => bookmarkIds.Contains(b.Id) && b.ResolvedAt != null).ToListAsync(cancellationToken);
    }
}
