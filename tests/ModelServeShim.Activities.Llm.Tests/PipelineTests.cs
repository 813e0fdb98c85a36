using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>Runs workflows/opensourcellm.json, as committed, in the real runtime with the test shimlet.</summary>
public class PipelineTests
{
    private static readonly string[] StepIds = ["model-validation", "config-rendering", "resource-deployment", "health-check"];

    private static JsonObject Request(string shimlet = "test", bool dryRun = false, string serviceId = "sample-0001") => new()
    {
        ["serviceId"] = serviceId,
        ["modelName"] = "sample",
        ["modelFile"] = "sample/sample-llama-f32.gguf",
        ["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA L4", ["acceleratorCount"] = 1, ["cpu"] = "2", ["memory"] = "4Gi" },
        ["shimlet"] = shimlet,
        ["dryRun"] = dryRun,
    };

    private static async Task<LlmHarness> StartAsync()
    {
        var h = await LlmHarness.StartAsync();
        await TestModels.WriteGgufAsync(h.ModelRoot);
        await h.SavePipelineAsync();
        return h;
    }

    [Fact]
    public async Task EndToEnd_Gguf_ValidatesRendersDeploysAndPassesHealthCheck()
    {
        await using var h = await StartAsync();
        await using var runtime = await FakeRuntimeServer.StartAsync("sample");
        h.Shimlet.Script = [TestShimlet.Pending("pulling image"), TestShimlet.Pending("loading model"), TestShimlet.Running(runtime.BaseAddress)];

        var instance = await h.RunAsync("opensourcellm", Request());
        var steps = await h.GetStepsAsync(instance.Id);
        var journal = await h.GetJournalAsync(instance.Id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(StepIds, journal.Select(j => j.ActivityId).OfType<string>().Distinct()); // the fake clock stands still: order by journal sequence
        Assert.Equal(StepIds.Order(StringComparer.Ordinal), steps.Select(s => s.ActivityId).Order(StringComparer.Ordinal));
        Assert.All(steps, s => Assert.Equal(StepStatus.Succeeded, s.Status));
        var spec = Assert.Single(h.Shimlet.Applied);
        Assert.Equal("llama-cpp", spec.Runtime);
        Assert.Equal(["--model", "/models/sample/sample-llama-f32.gguf", "--host", "0.0.0.0", "--port", "8080", "--ctx-size", "256", "--alias", "sample", "-ngl", "999"], spec.Args);
        Assert.Equal(new ResourceSpec("2", "4Gi", "NVIDIA L4", 1), spec.Resources);
        Assert.Null(spec.Namespace);
        var deployment = await h.GetOutputAsync(instance.Id, "resource-deployment");
        Assert.Equal("test/default/Service/sample-0001", (string?)deployment["resourceIds"]![0]);
        Assert.True((bool)deployment["changed"]!);
        Assert.Equal("test", (string?)deployment["shimlet"]);
        var health = await h.GetOutputAsync(instance.Id, "health-check");
        Assert.Equal(runtime.BaseAddress.ToString(), (string?)health["endpoint"]);
        Assert.Equal(1, (int)health["readyReplicas"]!);
        Assert.True(runtime.HealthCalls >= 1);
        Assert.All(StepIds, id => Assert.Contains(journal, j => j.ActivityId == id && j.Event == "StepLog" && j.PropertiesJson!.Contains("durationMs", StringComparison.Ordinal)));
        Assert.Contains(journal, j => j.ActivityId == "health-check" && j.Message.Contains("loading model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DryRun_FiresDryRunPort_AndSkipsDeploymentAndHealthCheck()
    {
        await using var h = await StartAsync();

        var instance = await h.RunAsync("opensourcellm", Request(dryRun: true));
        var steps = await h.GetStepsAsync(instance.Id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["config-rendering", "model-validation"], steps.Select(s => s.ActivityId).Order(StringComparer.Ordinal));
        Assert.Equal(ConfigRenderingActivity.DryRunOutcome, steps.Single(s => s.ActivityId == "config-rendering").Outcome);
        Assert.NotNull((await h.GetOutputAsync(instance.Id, "config-rendering"))["spec"]);
        Assert.Empty(h.Shimlet.Applied);
    }

    [Theory]
    [InlineData(UnhealthyReason.CrashLoop, LlmErrorTypes.CrashLoop)]
    [InlineData(UnhealthyReason.ImageUnavailable, LlmErrorTypes.ImageUnavailable)]
    [InlineData(UnhealthyReason.InsufficientAccelerators, LlmErrorTypes.InsufficientAccelerators)]
    [InlineData(UnhealthyReason.Unschedulable, LlmErrorTypes.Unschedulable)]
    [InlineData(UnhealthyReason.Failed, LlmErrorTypes.DeploymentFailed)]
    public async Task HealthCheck_TerminalStatus_FailsAtOnceWithItsErrorType(UnhealthyReason reason, string errorType)
    {
        await using var h = await StartAsync();
        h.Shimlet.Script = [TestShimlet.Pending(), TestShimlet.Failing(reason, "the environment's own words")];
        var clock = h.Time.GetUtcNow();

        var instance = await h.RunAsync("opensourcellm", Request());
        var health = (await h.GetStepsAsync(instance.Id)).Single(s => s.ActivityId == "health-check");

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal("health-check", instance.FaultedStep);
        Assert.Equal(errorType, health.ErrorType);
        Assert.False(health.Retryable);
        Assert.Contains("the environment's own words", health.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(clock, h.Time.GetUtcNow()); // the 15-minute timeout never had to pass
        await h.Shimlet.WatchEnded.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HealthCheck_StillPendingAtItsTimeout_FailsWithTimeout()
    {
        await using var h = await StartAsync();
        h.Shimlet.Script = [TestShimlet.Pending("waiting for a node")];

        var started = await h.Engine.StartAsync(new ModelServeShim.Workflows.Execution.StartRequest("opensourcellm", Request(), "tester"));
        await WaitForJournalAsync(h, started.Id, j => j.ActivityId == "health-check" && j.Message.StartsWith("Status: Pending", StringComparison.Ordinal));
        h.Time.Advance(TimeSpan.FromMinutes(15));
        var instance = await h.WaitAsync(started.Id, TimeSpan.FromSeconds(30));

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal("Timeout", instance.ErrorType);
        Assert.Contains(await h.GetJournalAsync(instance.Id), j => j.Message.Contains("last status: Pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HealthCheck_ModelNotListed_FailsModelNotServed()
    {
        await using var h = await StartAsync();
        await using var runtime = await FakeRuntimeServer.StartAsync("some-other-model");
        h.Shimlet.Script = [TestShimlet.Running(runtime.BaseAddress)];

        var instance = await h.RunAsync("opensourcellm", Request());

        Assert.Equal(LlmErrorTypes.ModelNotServed, instance.ErrorType);
        Assert.Contains("some-other-model", instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownShimlet_FailsOnceListingTheShimlets()
    {
        await using var h = await StartAsync();

        var instance = await h.RunAsync("opensourcellm", Request(shimlet: "docker"));
        var deployment = Assert.Single(await h.GetStepsAsync(instance.Id), s => s.ActivityId == "resource-deployment");

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal(LlmErrorTypes.UnknownShimlet, deployment.ErrorType);
        Assert.False(deployment.Retryable);
        Assert.Contains("Available: test", deployment.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningTheSameDeploymentAgain_AppliesTheSameSpec_AndReportsNoChange()
    {
        await using var h = await StartAsync();
        await using var runtime = await FakeRuntimeServer.StartAsync("sample");
        h.Shimlet.Script = [TestShimlet.Running(runtime.BaseAddress)];

        var first = await h.RunAsync("opensourcellm", Request());
        var second = await h.RunAsync("opensourcellm", Request());

        Assert.Equal(InstanceStatus.Completed, second.Status);
        Assert.True((bool)(await h.GetOutputAsync(first.Id, "resource-deployment"))["changed"]!);
        Assert.False((bool)(await h.GetOutputAsync(second.Id, "resource-deployment"))["changed"]!);
        Assert.Equal(2, h.Shimlet.Applied.Count);
    }

    private static async Task WaitForJournalAsync(LlmHarness h, string instanceId, Func<JournalRecord, bool> match)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await h.GetJournalAsync(instanceId)).Any(match))
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
