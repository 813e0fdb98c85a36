using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.CrashResume;

/// <summary>Runs alone: it measures a real process against wall-clock holds, so it should not share two cores with other hosts.</summary>
[CollectionDefinition(nameof(CrashResumeCollection), DisableParallelization = true)]
public sealed class CrashResumeCollection;

[Collection(nameof(CrashResumeCollection))]
public sealed class CrashResumeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Pipeline = """
        {
          "definitionId": "crash-resume",
          "description": "first → slow (held ~8 s by the test server, killed mid-flight) → last",
          "inputs": [ { "name": "baseUrl", "type": "string", "required": true } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "first", "type": "ModelServeShim.HttpRequest",
                "inputs": { "url": "{{ input.baseUrl }}/first", "method": "POST", "body": "{\"step\": \"first\"}" } },
              { "id": "slow", "type": "ModelServeShim.HttpRequest", "inputs": { "url": "{{ input.baseUrl }}/slow" }, "timeout": "30s" },
              { "id": "last", "type": "ModelServeShim.HttpRequest", "inputs": { "url": "{{ input.baseUrl }}/last", "method": "POST" } }
            ],
            "connections": [
              { "source": { "activity": "first" }, "target": { "activity": "slow" } },
              { "source": { "activity": "slow" }, "target": { "activity": "last" } }
            ]
          }
        }
        """;

    private static readonly TimeSpan SlowHold = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _root = new("mss-crash");
    private readonly List<ShimProcess> _processes = [];
    private CountingServer? _counter;
    private HttpClient? _client;
    private string[] _state = [];

    public async Task InitializeAsync() => _counter = await CountingServer.StartAsync(SlowHold);

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- server pid {process.Id} output ---\n{process.Output}");
            process.Dispose();
        }

        _client?.Dispose();
        if (_counter is not null)
        {
            await _counter.DisposeAsync();
        }

        _root.Dispose();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ServerKilledMidStep_ResumesOnRestart_AndRunsOnlyTheInterruptedStepAgain(string database)
    {
        var counter = _counter!;
        var port = ShimProcess.FreePort();
        var dataDir = _root.Sub("data");
        var workflowsDir = _root.Sub("workflows");
        _state = database == "postgres"
            ? [.. PostgresState.NewDatabase("crash").Select(s => $"--{s.Key}={s.Value}")]
            : [];
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        var first = Start(port, dataDir, workflowsDir);
        await first.WaitUntilHealthyAsync(_client, StartupTimeout);
        await _client.SaveDefinitionAsync(Pipeline);
        var id = await _client.ExecuteAsync("crash-resume", new JsonObject { ["baseUrl"] = counter.BaseAddress.ToString().TrimEnd('/') });

        // The slow step is in flight once its request reached the counting server.
        var inFlight = await Task.WhenAny(counter.SlowSeen, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(inFlight == counter.SlowSeen, $"/slow was never called (hits: {counter.Describe()}).\n{first.Output}");
        Assert.Equal(1, counter.Hits("/first"));

        // Attempt starts are queued (group commit), not awaited: wait until the in-flight attempt is stored too.
        var beforeKill = await _client.WaitForInstanceAsync(
            id, d => d.StepsOf("slow").Any(s => s["status"]!.GetValue<string>() == "Running"), "showing the slow attempt Running", TimeSpan.FromSeconds(5));
        Assert.Equal("Running", beforeKill.Status());

        first.Kill();
        Assert.True(first.HasExited);

        var second = Start(port, dataDir, workflowsDir);
        await second.WaitUntilHealthyAsync(_client, StartupTimeout);
        var clock = Stopwatch.StartNew();
        var detail = await _client.WaitForInstanceAsync(
            id,
            d => d.Status() is "Completed" or "Faulted" or "Cancelled",
            "finished after the restart",
            SlowHold + TimeSpan.FromSeconds(60));
        output.WriteLine($"Finished {clock.Elapsed.TotalSeconds:0.0}s after the restart; hits: {counter.Describe()}");

        Assert.True(detail.Status() == "Completed", $"Instance ended {detail.Status()}: {detail.ToJsonString()}\n{second.Output}");
        Assert.Equal(1, detail["instance"]!["resumeCount"]!.GetValue<int>());
        Assert.Equal(1, counter.Hits("/first"));
        Assert.InRange(counter.Hits("/slow"), 1, 2);
        Assert.Equal(2, counter.Hits("/slow"));
        Assert.Equal(1, counter.Hits("/last"));

        Assert.Equal(["Succeeded"], detail.StepsOf("first").Select(s => s["status"]!.GetValue<string>()));
        var slow = detail.StepsOf("slow").OrderBy(s => s["attempt"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 2], slow.Select(s => s["attempt"]!.GetValue<int>()));
        Assert.Equal(["Interrupted", "Succeeded"], slow.Select(s => s["status"]!.GetValue<string>()));
        Assert.NotNull(slow[0]["endedAt"]);
        Assert.Equal(200, slow[1]["output"]!["statusCode"]!.GetValue<int>());
        Assert.Equal(["Succeeded"], detail.StepsOf("last").Select(s => s["status"]!.GetValue<string>()));

        var journal = await _client.JournalAsync(id);
        var resumed = journal.Single(j => j!["event"]!.GetValue<string>() == "InstanceResumed")!;
        Assert.Contains("slow", resumed["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, resumed["properties"]!["resumeCount"]!.GetValue<int>());
        var sequences = journal.Select(j => j!["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(sequences.Distinct().Order(), sequences);
        Assert.Equal("InstanceCompleted", journal[^1]!["event"]!.GetValue<string>());
    }

    private ShimProcess Start(int port, string dataDir, string workflowsDir)
    {
        var process = ShimProcess.Start(port, dataDir, workflowsDir, _state);
        _processes.Add(process);
        return process;
    }
}
