using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.CrashResume;
using ModelServeShim.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.State;

/// <summary>
/// Two real servers on one PostgreSQL database: the second waits as a standby (ActiveReplicaLock) and, when the active
/// one is SIGKILLed mid-step, takes over and finishes its instance, running only the interrupted step again.
/// </summary>
[Collection(nameof(CrashResumeCollection))]
public sealed class StandbyFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Pipeline = """
        {
          "definitionId": "failover",
          "inputs": [ { "name": "baseUrl", "type": "string", "required": true } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "first", "type": "ModelServeShim.HttpRequest", "inputs": { "url": "{{ input.baseUrl }}/first", "method": "POST" } },
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
    private readonly TempDirectory _root = new("mss-failover");
    private readonly List<ShimProcess> _processes = [];
    private readonly List<HttpClient> _clients = [];
    private CountingServer? _counter;

    public async Task InitializeAsync() => _counter = await CountingServer.StartAsync(SlowHold);

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- server pid {process.Id} output ---\n{process.Output}");
            process.Dispose();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        if (_counter is not null)
        {
            await _counter.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task ActiveKilledMidStep_StandbyTakesOver_AndRunsOnlyTheInterruptedStepAgain()
    {
        var counter = _counter!;
        // A cluster shimlet as the default: a standby with the local one is refused (next test).
        string[] state = [.. PostgresState.NewDatabase("failover").Select(s => $"--{s.Key}={s.Value}"), "--shimlet=k8s"];
        var (portA, portB) = (ShimProcess.FreePort(), ShimProcess.FreePort());
        var (clientA, clientB) = (Client(portA), Client(portB));
        var active = Start(portA, "a", state);
        await active.WaitUntilHealthyAsync(clientA, StartupTimeout);
        var standby = Start(portB, "b", state);
        await Poll.UntilAsync(() => Task.FromResult<ShimProcess?>(standby.Output.Contains("waits as a standby", StringComparison.Ordinal) ? standby : null),
            "the second server to wait as a standby", StartupTimeout, () => standby.Output);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => clientB.GetAsync("/healthz")); // not serving while standby

        await clientA.SaveDefinitionAsync(Pipeline);
        var id = await clientA.ExecuteAsync("failover", new JsonObject { ["baseUrl"] = counter.BaseAddress.ToString().TrimEnd('/') });
        var inFlight = await Task.WhenAny(counter.SlowSeen, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(inFlight == counter.SlowSeen, $"/slow was never called (hits: {counter.Describe()}).\n{active.Output}");
        await clientA.WaitForInstanceAsync(
            id, d => d.StepsOf("slow").Any(s => s["status"]!.GetValue<string>() == "Running"), "showing the slow attempt Running", TimeSpan.FromSeconds(5));

        active.Kill();
        var clock = Stopwatch.StartNew();
        await standby.WaitUntilHealthyAsync(clientB, StartupTimeout);
        var takeover = clock.Elapsed;
        var detail = await clientB.WaitForInstanceAsync(id, d => d.Status() is "Completed" or "Faulted" or "Cancelled", "finished on the standby",
            SlowHold + TimeSpan.FromSeconds(60));
        output.WriteLine($"Standby serving {takeover.TotalSeconds:0.0} s after the SIGKILL; instance finished {clock.Elapsed.TotalSeconds:0.0} s after it");

        Assert.True(detail.Status() == "Completed", $"Instance ended {detail.Status()}: {detail.ToJsonString()}\n{standby.Output}");
        Assert.Contains("This replica is the active one", standby.Output, StringComparison.Ordinal);
        Assert.Equal(1, counter.Hits("/first"));
        Assert.Equal(2, counter.Hits("/slow"));
        Assert.Equal(1, counter.Hits("/last"));
        var slow = detail.StepsOf("slow").OrderBy(s => s["attempt"]!.GetValue<int>()).ToList();
        Assert.Equal(["Interrupted", "Succeeded"], slow.Select(s => s["status"]!.GetValue<string>()));
        Assert.Equal(["Succeeded"], detail.StepsOf("first").Select(s => s["status"]!.GetValue<string>()));
        Assert.Equal(1, detail["instance"]!["resumeCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task SecondReplica_WithTheLocalShimletAsDefault_RefusesToBeAStandby()
    {
        string[] state = [.. PostgresState.NewDatabase("localstandby").Select(s => $"--{s.Key}={s.Value}")];
        var port = ShimProcess.FreePort();
        var active = Start(port, "a", state);
        await active.WaitUntilHealthyAsync(Client(port), StartupTimeout);

        var second = Start(ShimProcess.FreePort(), "b", state);
        var exitCode = await second.WaitForExitAsync(StartupTimeout);

        Assert.Equal(3, exitCode);
        Assert.Contains("cannot be its standby: the default shimlet is 'local'", second.Output, StringComparison.Ordinal);
        Assert.Contains("--shimlet=k8s", second.Output, StringComparison.Ordinal);
        Assert.False(active.HasExited);
    }

    private HttpClient Client(int port)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        _clients.Add(client);
        return client;
    }

    private ShimProcess Start(int port, string name, string[] state)
    {
        var process = ShimProcess.Start(port, _root.Sub($"data-{name}"), _root.Sub($"workflows-{name}"), [.. state, "--Logging:Console:TimestampFormat=HH:mm:ss.fff "]);
        _processes.Add(process);
        return process;
    }
}
