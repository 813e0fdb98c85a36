using System.Collections.Concurrent;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.SQLite;
using ModelServeShim.Bench.Engine;

namespace ModelServeShim.Bench.Hangfire;

/// <summary>The jobs of the Hangfire chain: four no-ops and a last no-op that signals the waiting benchmark worker.</summary>
public static class HangfireChainJobs
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Pending = new(StringComparer.Ordinal);

    /// <summary>A step that does nothing (steps 1 to 4).</summary>
    public static void NoOp()
    {
    }

    /// <summary>The fifth step: does nothing, then tells the worker waiting on <paramref name="key"/> that the chain has run.</summary>
    /// <param name="key">The chain's key, from <see cref="Expect"/>.</param>
    public static void Last(string key)
    {
        if (Pending.TryRemove(key, out var done))
        {
            done.TrySetResult();
        }
    }

    /// <summary>Registers a chain about to be enqueued; the task completes when its last job has run.</summary>
    /// <param name="key">A key unique to the chain.</param>
    /// <returns>The task the last job completes.</returns>
    internal static Task Expect(string key)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Pending[key] = done;
        return done.Task;
    }
}

/// <summary>
/// Hangfire 1.8 with a durable storage and an in-process <see cref="BackgroundJobServer"/>: the benchmark's 5-step
/// chain as a fire-and-forget job and four continuations (<c>ContinueJobWith</c>, only on Succeeded).
/// </summary>
internal sealed class HangfireChainBench : IDisposable
{
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromSeconds(120);
    private readonly JobStorage _storage;
    private readonly BackgroundJobClient _client;
    private readonly BackgroundJobServer _server;
    private readonly string? _folder;
    private long _chains;

    static HangfireChainBench() => GlobalConfiguration.Configuration
        .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
        .UseSimpleAssemblyNameTypeSerializer()
        .UseRecommendedSerializerSettings();

    private HangfireChainBench(JobStorage storage, int workers, string? folder)
    {
        _storage = storage;
        _folder = folder;
        _client = new BackgroundJobClient(storage);
        _server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = workers }, storage);
    }

    /// <summary>Hangfire.Storage.SQLite's queue poll interval (it polls the queue table; its default is 15 s).</summary>
    public static TimeSpan SqlitePollInterval { get; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Hangfire.PostgreSql's poll interval: the smallest it accepts without AllowUnsafeValues (LISTEN/NOTIFY wakes workers sooner).</summary>
    public static TimeSpan PostgresPollInterval { get; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Hangfire.Storage.SQLite on a fresh file in a temporary folder.</summary>
    public static HangfireChainBench StartSqlite(int workers)
    {
        var folder = Directory.CreateTempSubdirectory("msshim-bench-hangfire-").FullName;
        var storage = new SQLiteStorage(Path.Combine(folder, "hangfire.db"), new SQLiteStorageOptions { QueuePollInterval = SqlitePollInterval });
        return new HangfireChainBench(storage, workers, folder);
    }

    /// <summary>Hangfire.PostgreSql on <paramref name="connectionString"/> (the schema is created on start), LISTEN/NOTIFY on.</summary>
    public static HangfireChainBench StartPostgres(string connectionString, int workers)
    {
        var options = new PostgreSqlStorageOptions
        {
            QueuePollInterval = PostgresPollInterval,
            EnableLongPolling = true,
            PrepareSchemaIfNecessary = true,
        };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
        return new HangfireChainBench(storage, workers, null);
    }

    /// <summary>Runs one load level (warm-up first), then checks Hangfire's own counts.</summary>
    /// <param name="level">The load level.</param>
    /// <param name="name">The row's name.</param>
    /// <param name="heldFirst">
    /// False: <c>Enqueue</c> then <c>ContinueJobWith</c> ×4, as an application writes it (the first job may run while
    /// the continuations are still being added). True: the first job is created Scheduled an hour ahead, the four
    /// continuations are added, then it is moved to Enqueued — no client call races a running job.
    /// </param>
    public async Task<EngineRun> RunAsync(LoadLevel level, string name, bool heldFirst)
    {
        var monitoring = _storage.GetMonitoringApi();
        Func<Task<string>> chain = () => StartAndWaitAsync(heldFirst);
        await ClosedLoop.RunAsync(level.WarmUp, level.Concurrency, chain);
        _chains += level.WarmUp;
        var succeededBefore = await SucceededAsync(monitoring, 5L * _chains);
        var load = await ClosedLoop.RunAsync(level.Instances, level.Concurrency, chain);
        _chains += level.Instances;
        var succeeded = await SucceededAsync(monitoring, 5L * _chains) - succeededBefore;

        var failed = monitoring.FailedCount();
        var passed = load.Ids.Count == level.Instances && succeeded == 5L * level.Instances && failed == 0;
        var check = $"{load.Ids.Count}/{level.Instances} chains, {succeeded}/{5 * level.Instances} jobs Succeeded, {failed} failed" + (passed ? " ✓" : " ✗");
        return new EngineRun(name, level, load, [], check, passed, "");
    }

    public void Dispose()
    {
        _server.SendStop();
        _server.Dispose();
        (_storage as IDisposable)?.Dispose();
        if (_folder is not null)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is not worth failing a benchmark for.
            }
        }
    }

    /// <summary>
    /// Hangfire's count of Succeeded jobs once it reaches <paramref name="expected"/> (or after 10 s): the last job
    /// signals from inside its method, a moment before its Succeeded state is committed.
    /// </summary>
    private static async Task<long> SucceededAsync(IMonitoringApi monitoring, long expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        long succeeded;
        while ((succeeded = monitoring.SucceededListCount()) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return succeeded;
    }

    private async Task<string> StartAndWaitAsync(bool heldFirst)
    {
        var key = Guid.NewGuid().ToString("N");
        var done = HangfireChainJobs.Expect(key);
        var first = heldFirst
            ? _client.Create(() => HangfireChainJobs.NoOp(), new ScheduledState(TimeSpan.FromHours(1)))
            : _client.Enqueue(() => HangfireChainJobs.NoOp());
        var id = first;
        for (var step = 2; step <= 4; step++)
        {
            id = _client.ContinueJobWith(id, () => HangfireChainJobs.NoOp());
        }

        id = _client.ContinueJobWith(id, () => HangfireChainJobs.Last(key));
        if (heldFirst && !_client.ChangeState(first, new EnqueuedState(), ScheduledState.StateName))
        {
            throw new InvalidOperationException($"Hangfire did not move job {first} from Scheduled to Enqueued.");
        }

        await done.WaitAsync(ChainTimeout);
        return id;
    }
}
