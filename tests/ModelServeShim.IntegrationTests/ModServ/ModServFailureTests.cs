using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>Failures the environment reports end the deployment at once with a diagnosis; health changes move Running ⇄ Degraded.</summary>
public sealed class ModServFailureTests(ModServFactory factory) : ModServFailureTestsBase(factory), IClassFixture<ModServFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class ModServFailurePostgresTests(PostgresModServFactory factory) : ModServFailureTestsBase(factory), IClassFixture<PostgresModServFactory>;

public abstract class ModServFailureTestsBase(ModServFactory factory)
{
    /// <summary>Far below the health-check step's 15 minute timeout: a terminal status must not wait it out.</summary>
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(20);

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Deploy_CrashLoop_FailsQuickly_WithCrashLoopAndLogLines()
    {
        factory.Shimlet.Script("crashy", TestBehaviour.CrashLoop);
        var clock = Stopwatch.StartNew();
        var serviceId = await _client.DeployAsync(ModServClient.Body("crashy"));

        var service = await _client.WaitForStateAsync(serviceId, "Failed", Quickly);

        Assert.True(clock.Elapsed < Quickly, $"took {clock.Elapsed}");
        var error = service["lastError"]!;
        Assert.Equal("CrashLoop", (string)error["type"]!);
        Assert.Equal("health-check", (string)error["step"]!);
        var message = (string)error["message"]!;
        Assert.All(TestShimlet.CrashLogLines, line => Assert.Contains(line, message, StringComparison.Ordinal));
        Assert.Contains("HealthChecking→Failed", service.Transitions());
        Assert.Contains("CrashLoop", (string)service.History().Last()["reason"]!, StringComparison.Ordinal);
        var steps = (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Select(s => (string)s!["status"]!);
        Assert.Equal(["Succeeded", "Succeeded", "Succeeded", "Failed"], steps);
    }

    [Theory]
    [InlineData("starved", TestBehaviour.InsufficientAccelerators, "InsufficientAccelerators", "Insufficient NVIDIA L4")]
    [InlineData("no-image", TestBehaviour.ImageUnavailable, "ImageUnavailable", "Failed to pull image")]
    public async Task Deploy_TerminalEnvironmentStatus_FailsQuicklyWithDiagnosis(string model, TestBehaviour behaviour, string errorType, string diagnosis)
    {
        factory.Shimlet.Script(model, behaviour);
        var body = ModServClient.Body(model);
        body["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA L4", ["acceleratorCount"] = 1, ["cpu"] = "2", ["memory"] = "4Gi" };
        var clock = Stopwatch.StartNew();
        var serviceId = await _client.DeployAsync(body);

        var service = await _client.WaitForStateAsync(serviceId, "Failed", Quickly);

        Assert.True(clock.Elapsed < Quickly, $"took {clock.Elapsed}");
        Assert.Equal(errorType, (string)service["lastError"]!["type"]!);
        Assert.Contains(diagnosis, (string)service["lastError"]!["message"]!, StringComparison.Ordinal);
        Assert.Equal("NVIDIA L4", Assert.Single(factory.Shimlet.AppliedFor(serviceId)).Resources.AcceleratorType);
    }

    [Fact]
    public async Task Running_ShimletTurnsUnhealthy_Degraded_ThenRunningAgain_ByHealthMonitor()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("wobbly"));
        await _client.WaitForStateAsync(serviceId, "Running");

        factory.Shimlet.SetHealthy(serviceId, false);
        var degraded = await _client.WaitForStateAsync(serviceId, "Degraded", Quickly);
        factory.Shimlet.SetHealthy(serviceId, true);
        var running = await _client.WaitForStateAsync(serviceId, "Running", Quickly);

        var lost = degraded.History().Last();
        Assert.Equal("Running", (string)lost["from"]!);
        Assert.Equal("health-monitor", (string)lost["operator"]!);
        Assert.Contains("unhealthy", (string)lost["reason"]!, StringComparison.Ordinal);
        Assert.Equal("Failed", (string)degraded["lastError"]!["type"]!);
        var restored = running.History().Last();
        Assert.Equal("Degraded", (string)restored["from"]!);
        Assert.Equal("Running", (string)restored["to"]!);
        Assert.Equal("health-monitor", (string)restored["operator"]!);
        Assert.Contains("healthy again", (string)restored["reason"]!, StringComparison.Ordinal);
        Assert.Equal(["HealthChecking→Running", "Running→Degraded", "Degraded→Running"], running.Transitions().TakeLast(3));
    }

    [Fact]
    public async Task HealthMonitor_JournalsProbesRateLimitedAndTheTransitionsTheyCause()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("journaled-health"));
        await _client.WaitForStateAsync(serviceId, "Running");
        factory.Shimlet.SetHealthy(serviceId, false);
        await _client.WaitForStateAsync(serviceId, "Degraded", Quickly);
        factory.Shimlet.SetHealthy(serviceId, true);
        await _client.WaitForStateAsync(serviceId, "Running", Quickly);

        // Probes keep coming every second; an unchanged result adds no entry, it is counted on the last one.
        var journal = await Poll.UntilAsync(async () =>
        {
            var entries = (await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/health")).AsArray().Select(e => e!).ToList();
            return entries.LastOrDefault(e => (string)e["event"]! == "Probe") is { } probe && (bool)probe["healthy"]! && (int)probe["probes"]! >= 3 ? entries : null;
        }, "three healthy probes after the restore", TimeSpan.FromSeconds(20));

        var events = journal.Select(e => $"{(string)e["event"]!}:{(bool)e["healthy"]!}").ToList();
        Assert.Equal(["Probe:False", "HealthLost:False", "Probe:True", "HealthRestored:True"], events.TakeLast(4));
        Assert.Contains("Running → Degraded", (string)journal.Single(e => (string)e["event"]! == "HealthLost")["message"]!, StringComparison.Ordinal);
        Assert.Equal(1, events.Count(e => e == "HealthLost:False"));
    }
}
