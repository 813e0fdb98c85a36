using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Execution;

/// <summary>The real runtime (SQLite file or PostgreSQL database, hosted services) on a fake clock.</summary>
public sealed class EngineHarness : IAsyncDisposable
{
    // A PostgreSQL database per harness folder: a harness started again on the same folder finds the same state.
    private static readonly ConcurrentDictionary<string, string> Databases = new(StringComparer.Ordinal);

    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _hosted;

    private EngineHarness(
        string directory, FakeTimeProvider time, int maxConcurrent, StoreWriter writer, IEnumerable<KeyValuePair<string, string?>>? extra, TimeProvider? replicaClock)
    {
        Directory = directory;
        Time = time;
        var settings = new Dictionary<string, string?>
        {
            ["Workflows:MaxConcurrentInstances"] = maxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Workflows:Directory"] = Path.Combine(directory, "workflows"),
            ["Workflows:Watch"] = "false",
        };
        if (writer == StoreWriter.Postgres)
        {
            foreach (var (key, value) in PostgresSettings(directory))
            {
                settings[key] = value;
            }
        }

        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(time)
            .AddSingleton(new ModelServeShim.Workflows.Replicas.ReplicaClock(replicaClock ?? TimeProvider.System))
            .AddScoped<AttemptScoped>()
            .AddSingleton(Events)
            .AddSingleton<IWorkflowObserver>(Events)
            .AddWorkflowRuntime(configuration, Path.Combine(directory, "state.db"));
        if (writer == StoreWriter.EntityFramework)
        {
            // The provider-neutral writer a non-SQLite store would get, over the same SQLite file.
            services.Replace(ServiceDescriptor.Singleton<IStateWriter>(sp => new EfStateWriter(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>())));
        }

        _services = services.BuildServiceProvider();
        _services.GetRequiredService<ActivityRegistry>().AddAssembly(typeof(EngineHarness).Assembly, "tests");
        _hosted = [.. _services.GetServices<IHostedService>()];
    }

    public string Directory { get; }

    public FakeTimeProvider Time { get; }

    public EventRecorder Events { get; } = new();

    public WorkflowEngine Engine => _services.GetRequiredService<WorkflowEngine>();

    public DefinitionStore Definitions => _services.GetRequiredService<DefinitionStore>();

    public ModelServeShim.Workflows.Replicas.ClusterLeader Leader => _services.GetRequiredService<ModelServeShim.Workflows.Replicas.ClusterLeader>();

    public IServiceProvider Services => _services;

    /// <summary>The <c>State</c> settings of the PostgreSQL database that belongs to <paramref name="directory"/> (created on first use).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> PostgresSettings(string directory)
    {
        var cluster = ModelServeShim.Testing.Postgres.PostgresCluster.Shared;
        var connectionString = Databases.GetOrAdd(directory, _ => cluster.CreateDatabase("engine"));
        return
        [
            new("State:Provider", "postgres"),
            new("State:ConnectionString", connectionString),
            new("State:Password", cluster.Password),
        ];
    }

    /// <summary>Reads a stored instance without starting an engine (which would resume it).</summary>
    public static async Task<InstanceRecord> ReadInstanceAsync(string directory, StoreWriter writer, string instanceId)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(writer == StoreWriter.Postgres ? PostgresSettings(directory) : [])
            .Build();
        await using var services = new ServiceCollection().AddLogging()
            .AddStateStore(configuration, Path.Combine(directory, "state.db"))
            .AddStateDbContextFactory<WorkflowDbContext, ModelServeShim.Workflows.Persistence.Postgres.PostgresWorkflowDbContext>(configuration, null)
            .BuildServiceProvider();
        await using var db = await services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        return await db.Instances.AsNoTracking().SingleAsync(i => i.Id == instanceId);
    }

    /// <summary>
    /// Starts the runtime; <paramref name="settings"/> are added to (or replace) the harness's configuration;
    /// <paramref name="replicaClock"/> is the clock of heartbeats and leases (real time unless given).
    /// </summary>
    public static async Task<EngineHarness> StartAsync(
        string? directory = null, FakeTimeProvider? time = null, int maxConcurrent = 16, StoreWriter writer = StoreWriter.Sqlite,
        IEnumerable<KeyValuePair<string, string?>>? settings = null, TimeProvider? replicaClock = null)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("mss-engine-").FullName;
        var harness = new EngineHarness(
            directory, time ?? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), maxConcurrent, writer, settings, replicaClock);
        foreach (var h in harness._hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        return harness;
    }

    public async Task<int> SaveAsync(string json)
    {
        var definition = DefinitionJson.Parse(json, out var error) ?? throw new InvalidOperationException(error!.Message);
        var saved = await _services.GetRequiredService<DefinitionStore>().SaveAsync(definition, "test", "tester");
        return saved.Record.Version;
    }

    public async Task<string> StartAsync(string definitionId, JsonObject? input = null)
    {
        var record = await Engine.StartAsync(new StartRequest(definitionId, input, "tester"));
        return record.Id;
    }

    public async Task<InstanceRecord> WaitAsync(string instanceId, TimeSpan? timeout = null)
    {
        await Engine.WaitAsync(instanceId).WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        return await GetInstanceAsync(instanceId);
    }

    public async Task<InstanceRecord> GetInstanceAsync(string instanceId)
    {
        await using var db = await _services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        return await db.Instances.AsNoTracking().SingleAsync(i => i.Id == instanceId);
    }

    public async Task<List<StepExecutionRecord>> GetStepsAsync(string instanceId)
    {
        await using var db = await _services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == instanceId).ToListAsync();
        return [.. steps.OrderBy(s => s.StartedAt).ThenBy(s => s.ActivityId, StringComparer.Ordinal).ThenBy(s => s.Attempt)];
    }

    public async Task<List<JournalRecord>> GetJournalAsync(string instanceId)
    {
        await using var db = await _services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var entries = await db.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId).ToListAsync();
        return [.. entries.OrderBy(j => j.Sequence)];
    }

    /// <summary>Stops the hosted services like a shutdown (running instances stay Running).</summary>
    public async Task StopAsync()
    {
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>Which writer commits the runtime's state.</summary>
public enum StoreWriter
{
    /// <summary>The SQLite writer (prepared commands), what the runtime registers for SQLite.</summary>
    Sqlite,

    /// <summary>The provider-neutral EF Core writer.</summary>
    EntityFramework,

    /// <summary>A PostgreSQL database (of the test cluster) with the PostgreSQL batching writer, what the runtime registers for PostgreSQL.</summary>
    Postgres,
}

/// <summary>Records runtime events so tests can wait for a step state instead of sleeping.</summary>
public sealed class EventRecorder : IWorkflowObserver
{
    private readonly ConcurrentQueue<StepExecutionRecord> _steps = new();
    private readonly SemaphoreSlim _signal = new(0);

    public void OnStepChanged(InstanceRecord instance, StepExecutionRecord step)
    {
        _steps.Enqueue(step);
        _signal.Release();
    }

    /// <summary>Waits until a step event matches.</summary>
    public async Task<StepExecutionRecord> WaitForStepAsync(Func<StepExecutionRecord, bool> match, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var found = _steps.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            await _signal.WaitAsync(cts.Token);
        }
    }
}
