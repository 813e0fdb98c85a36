using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletStatusTests
{
    [Fact]
    public async Task Status_NothingDeployed_ReportsNotFound()
    {
        await using var h = await ShimletHarness.StartAsync();

        var status = await h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None);

        Assert.Equal(ServicePhase.NotFound, status.Phase);
    }

    [Fact]
    public async Task Status_PodsBecomeReady_ReachesRunningWithClusterEndpoint()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(replicas: 2), CancellationToken.None);

        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        Assert.Equal((2, 2, UnhealthyReason.None), (status.ReadyReplicas, status.DesiredReplicas, status.Reason));
        Assert.Equal(new Uri($"http://{ShimletHarness.Name}.default.svc.cluster.local:8000"), status.Endpoint);
    }

    [Fact]
    public async Task Status_EndpointTemplateConfigured_UsesIt()
    {
        await using var h = await ShimletHarness.StartAsync(o => o.EndpointTemplate = "http://127.0.0.1:18080/{namespace}/{service}");
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        Assert.Equal(new Uri($"http://127.0.0.1:18080/default/{ShimletHarness.Name}"), status.Endpoint);
    }

    [Theory]
    [InlineData(PodScenario.ImagePullBackOff, UnhealthyReason.ImageUnavailable, "Back-off pulling image \"vllm/vllm-openai:v0.6.3\"")]
    [InlineData(PodScenario.InsufficientGpu, UnhealthyReason.InsufficientAccelerators, FakeController.InsufficientGpuMessage)]
    [InlineData(PodScenario.Unschedulable, UnhealthyReason.Unschedulable, FakeController.NodeSelectorMessage)]
    public async Task Status_PodsFail_ReportsTheMatchingTerminalReason(PodScenario scenario, UnhealthyReason reason, string message)
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, scenario);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var status = await h.WaitForStatusAsync(s => s.Reason != UnhealthyReason.Pending && s.Reason != UnhealthyReason.None);

        Assert.Equal(ServicePhase.Failed, status.Phase);
        Assert.Equal(reason, status.Reason);
        Assert.True(status.IsTerminalFailure);
        Assert.Contains(message, status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_CrashLoopBackOff_ReportsCrashLoopWithTheLastLogLines()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.CrashLoopBackOff);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var status = await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.CrashLoop);

        Assert.Equal(ServicePhase.Failed, status.Phase);
        Assert.Contains("CrashLoopBackOff", status.Message, StringComparison.Ordinal);
        Assert.Contains("last exit code 1", status.Message, StringComparison.Ordinal);
        Assert.EndsWith(string.Join('\n', FakeController.CrashLog), status.Message, StringComparison.Ordinal);
        Assert.Contains(h.Server.Requests, r => r.Contains("/log?", StringComparison.Ordinal) && r.Contains("tailLines=20", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_StillCreatingContainers_ReportsPendingNotFailed()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await ShimletHarness.WaitUntilAsync(
            () => h.Server.Store.List(FakeResource.Pods, "default", LabelSelector.Everything).Items.Any(p => p["status"]?["containerStatuses"] is not null),
            "the pod to report ContainerCreating");

        var status = await h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None);

        Assert.Equal((ServicePhase.Pending, UnhealthyReason.Pending), (status.Phase, status.Reason));
        Assert.False(status.IsTerminalFailure);
    }
}
