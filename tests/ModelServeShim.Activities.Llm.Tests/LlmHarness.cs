using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Models.Integrity;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>
/// The real workflow runtime (SQLite file, hosted services, fake clock) with the pipeline's activities,
/// a temporary model root and the in-memory <see cref="TestShimlet"/>. Mirrors the runtime tests' EngineHarness.
/// </summary>
public sealed class LlmHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _hosted;

    private LlmHarness(string directory, IDictionary<string, string?> settings)
    {
        Directory = directory;
        ModelRoot = System.IO.Directory.CreateDirectory(Path.Combine(directory, "models")).FullName;
        var values = new Dictionary<string, string?>
        {
            ["Workflows:MaxConcurrentInstances"] = "4",
            ["Workflows:Directory"] = Path.Combine(directory, "workflows"),
            ["Workflows:Watch"] = "false",
            ["Models:Roots:0"] = ModelRoot,
            ["HealthCheck:ProbeInterval"] = "00:00:01",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        _services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton<IShimlet>(Shimlet)
            .AddWorkflowRuntime(configuration, Path.Combine(directory, "state.db"))
            .AddLlmPipelineActivities(configuration)
            .AddSingleton<IRequesterDirectory>(Requesters)
            .AddSingleton<IChecksumCache>(ChecksumCache)
            .BuildServiceProvider();
        _services.GetRequiredService<ActivityRegistry>().AddAssembly(typeof(ModelValidationActivity).Assembly, "builtin");
        _hosted = [.. _services.GetServices<IHostedService>()];
    }

    public string Directory { get; }

    /// <summary>The only model root.</summary>
    public string ModelRoot { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public TestShimlet Shimlet { get; } = new("test");

    /// <summary>The roles of the operators instances run as (the host's come from its API keys).</summary>
    public TestRequesterDirectory Requesters { get; } = new();

    /// <summary>The remembered digests (the host keeps them in its database).</summary>
    public MemoryChecksumCache ChecksumCache { get; } = new();

    public IServiceProvider Services => _services;

    public WorkflowEngine Engine => _services.GetRequiredService<WorkflowEngine>();

    public static async Task<LlmHarness> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("mss-llm-").FullName;
        var harness = new LlmHarness(directory, settings ?? new Dictionary<string, string?>());
        foreach (var h in harness._hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        return harness;
    }

    public async Task SaveAsync(string json)
    {
        var definition = DefinitionJson.Parse(json, out var error) ?? throw new InvalidOperationException(error!.Message);
        await _services.GetRequiredService<DefinitionStore>().SaveAsync(definition, "test", "tester");
    }

    /// <summary>Saves the pipeline as committed in workflows/opensourcellm.json.</summary>
    public Task SavePipelineAsync() =>
        SaveAsync(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "workflows", "opensourcellm.json")));

    /// <summary>Saves a one-step definition running <paramref name="type"/> with <paramref name="inputs"/>.</summary>
    public Task SaveSingleStepAsync(string definitionId, string type, JsonObject inputs, string timeout = "1m") =>
        SaveAsync(new JsonObject
        {
            ["definitionId"] = definitionId,
            ["root"] = new JsonObject
            {
                ["type"] = "Flowchart",
                ["activities"] = new JsonArray(new JsonObject { ["id"] = "step", ["type"] = type, ["inputs"] = inputs, ["timeout"] = timeout }),
                ["connections"] = new JsonArray(),
            },
        }.ToJsonString());

    public async Task<InstanceRecord> RunAsync(string definitionId, JsonObject? input = null, TimeSpan? timeout = null, string @operator = "tester")
    {
        var record = await Engine.StartAsync(new StartRequest(definitionId, input, @operator));
        await Engine.WaitAsync(record.Id).WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        return await GetInstanceAsync(record.Id);
    }

    /// <summary>Waits for an instance that is already running.</summary>
    public async Task<InstanceRecord> WaitAsync(string instanceId, TimeSpan timeout)
    {
        await Engine.WaitAsync(instanceId).WaitAsync(timeout);
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

    /// <summary>The final attempt's outputs of a step.</summary>
    public async Task<JsonObject> GetOutputAsync(string instanceId, string stepId)
    {
        var step = (await GetStepsAsync(instanceId)).Single(s => s.ActivityId == stepId && s.IsFinal);
        return JsonNode.Parse(step.OutputJson ?? "{}")!.AsObject();
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}
