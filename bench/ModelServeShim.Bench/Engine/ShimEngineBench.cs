using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Bench.Engine;

/// <summary>
/// The ModelServeShim runtime, built through DI as the server builds it, with SQLite persistence in a fresh
/// temporary folder (or the PostgreSQL database the <c>State</c> settings name). Every step transition is committed before the engine moves on, as in production.
/// </summary>
internal sealed class ShimEngineBench : IAsyncDisposable
{
    public const string DefinitionId = "bench-noop5";
    private static readonly string[] StepIds = ["a", "b", "c", "d", "e"];
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];
    private readonly string _folder;

    private ShimEngineBench(ServiceProvider services, string folder)
    {
        _services = services;
        _folder = folder;
    }

    public WorkflowEngine Engine => _services.GetRequiredService<WorkflowEngine>();

    public WriteQueue Writes => _services.GetRequiredService<WriteQueue>();

    /// <summary>Builds and starts the runtime and saves the 5-step no-op definition.</summary>
    public static async Task<ShimEngineBench> StartAsync(int maxConcurrentInstances, IEnumerable<KeyValuePair<string, string?>>? state = null)
    {
        var folder = Directory.CreateTempSubdirectory("msshim-bench-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Workflows:MaxConcurrentInstances"] = maxConcurrentInstances.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Workflows:Directory"] = workflows,
        }).AddInMemoryCollection(state ?? []).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddWorkflowRuntime(configuration, Path.Combine(folder, "workflows.db"));
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var bench = new ShimEngineBench(provider, folder);
        try
        {
            provider.GetRequiredService<ActivityRegistry>().AddAssembly(typeof(NoOpActivity).Assembly, "bench");

            // In registration order: schema migration, workflow files, then the engine.
            foreach (var hosted in provider.GetServices<IHostedService>())
            {
                await hosted.StartAsync(CancellationToken.None);
                bench._started.Add(hosted);
            }

            await provider.GetRequiredService<DefinitionStore>().SaveAsync(Definition(), "api", "bench");
            return bench;
        }
        catch
        {
            await bench.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one load level, then checks the database.</summary>
    public Task<EngineRun> RunAsync(LoadLevel level, string name) => RunAsync([this], level, name);

    /// <summary>
    /// Runs one load level on several runtimes sharing one PostgreSQL database (replicas: each owns the instances it
    /// starts), starting the instances round-robin, then checks the database.
    /// </summary>
    public static async Task<EngineRun> RunAsync(IReadOnlyList<ShimEngineBench> replicas, LoadLevel level, string name)
    {
        var next = -1;
        Task<string> StartOnNext(string tag) => replicas[(int)((uint)Interlocked.Increment(ref next) % (uint)replicas.Count)].StartAndWaitAsync(tag);
        var warmUpTag = $"warmup-c{level.Concurrency}";
        await ClosedLoop.RunAsync(level.WarmUp, level.Concurrency, () => StartOnNext(warmUpTag));
        var tag = $"measure-c{level.Concurrency}";
        var batchesBefore = replicas.Sum(r => r.Writes.Batches);
        var load = await ClosedLoop.RunAsync(level.Instances, level.Concurrency, () => StartOnNext(tag));
        var batches = replicas.Sum(r => r.Writes.Batches) - batchesBefore;
        var (check, passed, gaps) = await replicas[0].CheckAsync(tag, level.Instances);
        var notes = $"{batches:N0} commits ({(double)batches / level.Instances:0.0} per instance)";
        return new EngineRun(name, level, load, gaps, check, passed, notes);
    }

    /// <summary>Times bare write-queue round trips on an idle queue: one awaited commit of one row update (two columns).</summary>
    public async Task<double[]> ProbeCommitAsync(int count)
    {
        await using var db = await _services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var row = await db.Instances.AsNoTracking().OrderBy(i => i.CreatedAt).FirstAsync();
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await Writes.EnqueueAsync(new InstanceResumed(row.Id, row.ResumeCount, row.UpdatedAt));
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return times;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a benchmark for.
        }
    }

    private async Task<string> StartAndWaitAsync(string tag)
    {
        var record = await Engine.StartAsync(new StartRequest(DefinitionId, null, "bench", CorrelationId: tag));
        await Engine.WaitAsync(record.Id);
        return record.Id;
    }

    private async Task<(string Check, bool Passed, double[] GapsMs)> CheckAsync(string tag, int expected)
    {
        await using var db = await _services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var byStatus = await db.Instances.Where(i => i.CorrelationId == tag)
            .GroupBy(i => i.Status).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
        var steps = await db.StepExecutions.AsNoTracking()
            .Where(s => db.Instances.Any(i => i.Id == s.InstanceId && i.CorrelationId == tag))
            .Select(s => new { s.InstanceId, s.ActivityId, s.Status, s.StartedAt })
            .ToListAsync();
        var completed = byStatus.Where(s => s.Key == InstanceStatus.Completed).Sum(s => s.Count);
        var total = byStatus.Sum(s => s.Count);
        var succeeded = steps.Count(s => s.Status == StepStatus.Succeeded);
        var passed = completed == expected && total == expected && steps.Count == 5 * expected && succeeded == steps.Count;
        var check = $"{completed}/{expected} Completed, {steps.Count}/{5 * expected} step rows" + (passed ? " ✓" : " ✗ "
            + string.Join(", ", byStatus.Select(s => $"{s.Key}={s.Count}")) + $", succeeded steps={succeeded}");

        // Start-to-start gaps between consecutive steps of one instance: a step's whole cost to the next one.
        var gaps = steps.GroupBy(s => s.InstanceId)
            .SelectMany(g =>
            {
                var byStep = g.ToDictionary(s => s.ActivityId, s => s.StartedAt, StringComparer.Ordinal);
                return StepIds.Zip(StepIds.Skip(1)).Where(p => byStep.ContainsKey(p.First) && byStep.ContainsKey(p.Second))
                    .Select(p => (byStep[p.Second] - byStep[p.First]).TotalMilliseconds);
            })
            .ToArray();
        return (check, passed, gaps);
    }

    private static WorkflowDefinition Definition() => new()
    {
        DefinitionId = DefinitionId,
        Name = "Bench: five no-op steps",
        Description = "a → b → c → d → e, each a Bench.NoOp.",
        Root = new FlowchartDefinition
        {
            Activities = [.. StepIds.Select(id => new ActivityDefinition { Id = id, Type = "Bench.NoOp" })],
            Connections = [.. StepIds.Zip(StepIds.Skip(1)).Select(p => new ConnectionDefinition
            {
                Source = new Workflows.Definitions.Endpoint { Activity = p.First, Port = "Done" },
                Target = new Workflows.Definitions.Endpoint { Activity = p.Second },
            })],
        },
    };
}
