using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using ModelServeShim.Workflows.Persistence.Postgres;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// The cluster's event feed on PostgreSQL. Every replica writes the events it publishes into <c>server_events</c>
/// (batched: one transaction per batch, serialized across replicas by a transaction-level advisory lock, so that
/// sequence numbers are committed in order and a reader that has seen number N has seen every committed number below
/// it) and notifies <see cref="EventsChannel"/> at commit. Every replica — the publisher too — reads the rows after
/// the last one it delivered, woken by that notification (a dedicated listening connection, re-opened with backoff when
/// it breaks) or, as a fallback, every <see cref="EventFeedOptions.PollInterval"/>, and hands them to its local
/// subscribers in sequence order: one order and one numbering on every replica, no event delivered twice. The same
/// connection listens to the state writer's journal notifications (<see cref="PostgresStateStore.JournalChannel"/>) and
/// wakes the journal follows of this replica. Rows older than <see cref="EventFeedOptions.Retention"/> or beyond
/// <see cref="EventFeedOptions.MaxRetained"/> are deleted (the newest row always stays: it tells how far numbering went).
/// </summary>
public sealed class PostgresEventLog : EventLog
{
    /// <summary>The notification channel of new events (no payload: readers read the table).</summary>
    public const string EventsChannel = "model_serve_shim_events";

    /// <summary>The <c>application_name</c> of the listening connection (in <c>pg_stat_activity</c>).</summary>
    public const string ListenerApplicationName = "model-serve-shim/event-listener";

    // The advisory lock that serializes the writers of server_events ("mss_evts" as a 64-bit key).
    private const long WriteLockKey = 0x6D73735F65767473;
    private const int BatchSize = 500;
    private const int OutboxCapacity = 100_000;
    private static readonly TimeSpan StatementTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);
    private static readonly Func<DateTimeOffset, long> ToBinary = new DateTimeOffsetToBinaryConverter().ConvertToProviderExpression.Compile();

    private readonly NpgsqlDataSource _db;
    private readonly EventFeedOptions _options;
    private readonly JournalBroadcaster _journal;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresEventLog> _logger;
    private readonly string _description;
    private readonly Channel<(string Name, string Data, DateTimeOffset At)> _outbox;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ResiliencePipeline _writeRetry;
    private long _delivered = -1;

    /// <summary>Creates the log on the store's connection pool.</summary>
    public PostgresEventLog(PostgresStateStore store, EventFeedOptions options, JournalBroadcaster journal, TimeProvider time, ILogger<PostgresEventLog> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _db = store.DataSource;
        _description = store.Description;
        _options = options;
        _journal = journal;
        _time = time;
        _logger = logger;
        Replica = $"{Environment.MachineName}/{Environment.ProcessId}";
        _outbox = Channel.CreateBounded<(string, string, DateTimeOffset)>(
            new BoundedChannelOptions(OutboxCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => _logger.LogError("The event feed's outbox is full (the {Store} has not taken events for a while): a {Event} event is lost", _description, dropped.Item1));
        _writeRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // What Npgsql marks transient (connection refused or reset, the server shutting down, timeouts) is
                // retried; anything else (a missing table, a permission) will not get better by waiting.
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient).Handle<TimeoutRejectedException>(),
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(5),
                MaxRetryAttempts = 10,
                UseJitter = true,
                OnRetry = a =>
                {
                    _logger.LogWarning("Could not store events in the {Store} (attempt {Attempt}: {Error}); retrying in {Delay:0.0} s",
                        _description, a.AttemptNumber + 1, a.Outcome.Exception?.Message, a.RetryDelay.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(StatementTimeout)
            .Build();
    }

    /// <summary>This replica's name in the rows it writes (host name and process id).</summary>
    public string Replica { get; }

    /// <summary>The sequence of the last event handed to this replica's subscribers (-1 before the feed started).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>How many times the listening connection was opened (1 once started; more after each reconnection).</summary>
    public int ListenerConnections { get; private set; }

    /// <inheritdoc />
    public override void Append(string name, string data) => _outbox.Writer.TryWrite((name, data, _time.GetUtcNow()));

    /// <inheritdoc />
    public override async Task<EventBacklog> ReadAfterAsync(long after, int max, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // The rows first, the bounds after: pruning deletes a prefix, so if the oldest row left is still at most
        // after + 1 once the rows are read, none of them had been pruned.
        var rows = await ReadRowsAsync(connection, after, max, cancellationToken).ConfigureAwait(false);
        long? oldest, newest;
        await using (var bounds = new NpgsqlCommand("""SELECT min("Id"), max("Id") FROM server_events""", connection))
        {
            bounds.CommandTimeout = (int)StatementTimeout.TotalSeconds;
            await using var reader = await bounds.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            oldest = reader.IsDBNull(0) ? null : reader.GetInt64(0);
            newest = reader.IsDBNull(1) ? null : reader.GetInt64(1);
        }

        // The newest row is never pruned, so an empty table means nothing was ever published on this database.
        return (newest is null ? after > 0 : after > newest || after < oldest - 1)
            ? new EventBacklog([], newest ?? 0)
            : new EventBacklog(rows, null);
    }

    /// <inheritdoc />
    public override async Task RunAsync(CancellationToken stoppingToken)
    {
        // Numbering on this replica starts after what is already stored (older events are for resuming streams only);
        // events published before this point wait in the outbox and get numbers after it.
        _delivered = await StartPositionAsync(stoppingToken).ConfigureAwait(false);
        await Task.WhenAll(WriteLoopAsync(stoppingToken), ReadLoopAsync(stoppingToken), ListenLoopAsync(stoppingToken)).ConfigureAwait(false);
    }

    private async Task<long> StartPositionAsync(CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("""SELECT coalesce(max("Id"), 0) FROM server_events""", connection);
                command.CommandTimeout = (int)StatementTimeout.TotalSeconds;
                return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }
            catch (NpgsqlException e) when (!ct.IsCancellationRequested)
            {
                var delay = Backoff(attempt);
                _logger.LogWarning("The event feed cannot read the {Store} (attempt {Attempt}: {Error}); retrying in {Delay:0.0} s", _description, attempt, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        var batch = new List<(string Name, string Data, DateTimeOffset At)>(BatchSize);
        try
        {
            while (await _outbox.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (batch.Count < BatchSize && _outbox.Reader.TryRead(out var e))
                {
                    batch.Add(e);
                }

                try
                {
                    await _writeRetry.ExecuteAsync(c => new ValueTask(InsertAsync(batch, c)), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    _logger.LogError(e, "Could not store {Count} events in the {Store} ({Error}): they are lost for every replica's event streams",
                        batch.Count, _description, e.Message);
                }

                batch.Clear();

                // The publisher reads its own events back like any replica (no wait for the notification's round trip).
                _wake.Writer.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: what is still queued (the last changes of a clean shutdown) is written once, within a few seconds.
            while (_outbox.Reader.TryRead(out var e))
            {
                batch.Add(e);
            }

            if (batch.Count > 0)
            {
                using var flush = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
                try
                {
                    await InsertAsync(batch, flush.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
                {
                    _logger.LogWarning("Could not store the last {Count} events at shutdown ({Error})", batch.Count, e.Message);
                }
            }
        }
    }

    private async Task InsertAsync(List<(string Name, string Data, DateTimeOffset At)> events, CancellationToken ct)
    {
        await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.Timeout = (int)StatementTimeout.TotalSeconds;
        batch.BatchCommands.Add(Command("SELECT pg_advisory_xact_lock($1)", new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = WriteLockKey }));
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO server_events ("Name", "Data", "Replica", "CreatedAt")
            SELECT n, d, $3, t FROM unnest($1::text[], $2::text[], $4::bigint[]) WITH ORDINALITY AS e(n, d, t, o) ORDER BY o
            """,
            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = events.Select(e => e.Name).ToArray() },
            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = events.Select(e => e.Data).ToArray() },
            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = Replica },
            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = events.Select(e => ToBinary(e.At)).ToArray() }));
        batch.BatchCommands.Add(Command("SELECT pg_notify($1, '')", new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = EventsChannel }));
        await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        var lastPrune = _time.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            using (var poll = new CancellationTokenSource(_options.PollInterval, _time))
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, poll.Token))
            {
                try
                {
                    await _wake.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // The fallback poll.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                List<ServerEvent> rows;
                do
                {
                    rows = await ReadRowsAsync(connection, _delivered, 1000, ct).ConfigureAwait(false);
                    foreach (var e in rows)
                    {
                        Deliver(e);
                        Interlocked.Exchange(ref _delivered, e.Sequence);
                    }
                }
                while (rows.Count == 1000);

                if (_time.GetElapsedTime(lastPrune) >= PruneInterval)
                {
                    lastPrune = _time.GetTimestamp();
                    await PruneAsync(ct).ConfigureAwait(false);
                }

                if (failures > 0)
                {
                    _logger.LogInformation("The event feed reads the {Store} again", _description);
                    failures = 0;
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
            {
                // Retried at the next wake-up or poll; said once per outage, not at every poll.
                if (failures++ == 0)
                {
                    _logger.LogWarning("The event feed cannot read the {Store} ({Error}); it retries every {Poll:0.0} s and delivers what it missed once it can",
                        _description, e.Message, _options.PollInterval.TotalSeconds);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Deletes the rows past <see cref="EventFeedOptions.Retention"/> or <see cref="EventFeedOptions.MaxRetained"/>; returns how many.</summary>
    internal async Task<int> PruneAsync(CancellationToken ct)
    {
        await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            DELETE FROM server_events
            WHERE "Id" < (SELECT max("Id") FROM server_events)
              AND ("CreatedAt" < $1 OR "Id" <= (SELECT max("Id") FROM server_events) - $2)
            """, connection);
        command.CommandTimeout = (int)StatementTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = ToBinary(_time.GetUtcNow() - _options.Retention) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (long)_options.MaxRetained });
        var deleted = await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        if (deleted > 0)
        {
            _logger.LogDebug("Pruned {Count} events from server_events", deleted);
        }

        return deleted;
    }

    private async Task ListenLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        var down = Stopwatch.StartNew();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, n) =>
                {
                    if (n.Channel == EventsChannel)
                    {
                        _wake.Writer.TryWrite(true);
                    }
                    else if (n.Channel == PostgresStateStore.JournalChannel)
                    {
                        _journal.Wake(n.Payload.Length == 0 ? null : n.Payload.Split('\n'));
                    }
                };
                // Named, so that an operator sees it in pg_stat_activity (DISCARD ALL resets the name if it returns to the pool).
                await using (var listen = new NpgsqlCommand(
                    $"SET application_name = '{ListenerApplicationName}'; LISTEN {EventsChannel}; LISTEN {PostgresStateStore.JournalChannel}", connection))
                {
                    listen.CommandTimeout = (int)StatementTimeout.TotalSeconds;
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                ListenerConnections++;
                if (failures > 0)
                {
                    _logger.LogInformation("The event feed listens to the {Store} again, after {Seconds:0.0} s; catching up", _description, down.Elapsed.TotalSeconds);
                    failures = 0;
                }

                // Whatever was notified while no connection listened is read now.
                _wake.Writer.TryWrite(true);
                _journal.Wake(null);
                while (!ct.IsCancellationRequested)
                {
                    // A quiet connection is checked with a query: a connection that died without a word (a network
                    // partition) fails it within its timeout and is replaced.
                    if (!await connection.WaitAsync(_options.PollInterval * 5, ct).ConfigureAwait(false))
                    {
                        await using var ping = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = 10 };
                        await ping.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                if (failures++ == 0)
                {
                    down.Restart();
                }

                var delay = Backoff(failures);
                var transient = e is not NpgsqlException n || n.IsTransient || e is PostgresException { SqlState: "57P01" };
                _logger.Log(transient ? LogLevel.Warning : LogLevel.Error,
                    "The event feed's listening connection to the {Store} failed (attempt {Attempt}: {Error}); reconnecting in {Delay:0.0} s. "
                    + "Meanwhile other replicas' events arrive by polling every {Poll:0.0} s",
                    _description, failures, e.Message, delay.TotalSeconds, _options.PollInterval.TotalSeconds);
                try
                {
                    await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task<List<ServerEvent>> ReadRowsAsync(NpgsqlConnection connection, long after, int max, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""SELECT "Id", "Name", "Data" FROM server_events WHERE "Id" > $1 ORDER BY "Id" LIMIT $2""", connection);
        command.CommandTimeout = (int)StatementTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = after });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = max });
        var rows = new List<ServerEvent>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new ServerEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * Math.Pow(2, Math.Min(attempt, 10))) * (0.8 + (Random.Shared.NextDouble() * 0.4)));

    private static NpgsqlBatchCommand Command(string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(p);
        }

        return command;
    }
}
