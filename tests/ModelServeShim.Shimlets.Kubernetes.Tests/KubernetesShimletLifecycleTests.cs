using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletLifecycleTests
{
    [Fact]
    public async Task Scale_GoesThroughTheScaleSubresource_AndReapplyKeepsTheScaledCount()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        await h.Shimlet.ScaleAsync(ShimletHarness.Target, 3, CancellationToken.None);

        Assert.Contains(h.Server.Requests, r => r.StartsWith($"PATCH /apis/apps/v1/namespaces/default/deployments/{ShimletHarness.Name}/scale?", StringComparison.Ordinal)
            && r.Contains("application/merge-patch+json", StringComparison.Ordinal));
        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running && s.ReadyReplicas == 3);
        Assert.Equal(3, status.DesiredReplicas);

        // The scale took spec.replicas; applying the unchanged spec again must neither conflict nor undo it.
        var reapplied = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        Assert.False(reapplied.Changed);
        Assert.Equal(3, (await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default")).Spec.Replicas);
    }

    [Fact]
    public async Task Scale_ToZero_ReportsStopped()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(stableIdentity: true), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        await h.Shimlet.ScaleAsync(ShimletHarness.Target, 0, CancellationToken.None);

        Assert.Contains(h.Server.Requests, r => r.StartsWith($"PATCH /apis/apps/v1/namespaces/default/statefulsets/{ShimletHarness.Name}/scale?", StringComparison.Ordinal));
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Stopped && s.DesiredReplicas == 0);
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.List(FakeResource.Pods, "default", LabelSelector.Everything).Items.Count == 0, "the pods to go");
    }

    [Fact]
    public async Task Scale_NothingDeployed_ThrowsNonRetryableServiceNotFound()
    {
        await using var h = await ShimletHarness.StartAsync();

        var error = await Assert.ThrowsAsync<StepException>(() => h.Shimlet.ScaleAsync(ShimletHarness.Target, 2, CancellationToken.None));

        Assert.Equal((KubernetesErrorTypes.ServiceNotFound, false), (error.ErrorType, error.Retryable));
    }

    [Fact]
    public async Task Delete_RemovesOnlyOwnedResources_WithForegroundPropagation()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        var foreignName = "qwen2-7b-by-helm";
        var foreign = h.Shimlet.Render(ShimletHarness.Spec()).Deployment!;
        foreign.Metadata.Name = foreignName;
        foreign.Metadata.Labels["app.kubernetes.io/managed-by"] = "Helm";
        foreign.Spec.Selector.MatchLabels = new Dictionary<string, string> { ["app"] = foreignName };
        foreign.Spec.Template.Metadata.Labels = new Dictionary<string, string> { ["app"] = foreignName, ["app.kubernetes.io/name"] = "qwen2-7b" };
        await h.Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(foreign, V1Patch.PatchType.ApplyPatch), foreignName, "default", fieldManager: "helm");
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        await ShimletHarness.WaitUntilAsync(() => PodsOf(h, foreignName).Count == 1, "the foreign pod");

        await h.Shimlet.DeleteAsync(ShimletHarness.Target, CancellationToken.None);

        var name = ShimletHarness.Name;
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.Get(FakeResource.Deployments, "default", name) is null, "the foreground deletion to finish");
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.AppsV1.ReadNamespacedDeploymentAsync(name, "default"))).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.ReadNamespacedServiceAsync(name, "default"))).Response.StatusCode);
        Assert.Equal("Foreground", h.Server.DeletePropagation[$"deployments/{name}"]);
        Assert.Equal("Foreground", h.Server.DeletePropagation[$"services/{name}"]);
        Assert.Empty(PodsOf(h, name));
        Assert.NotNull(await h.Client.AppsV1.ReadNamespacedDeploymentAsync(foreignName, "default"));
        Assert.Single(PodsOf(h, foreignName));
        Assert.False(h.Server.DeletePropagation.ContainsKey($"deployments/{foreignName}"));
        Assert.Equal(ServicePhase.NotFound, (await h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None)).Phase);
    }

    [Fact]
    public async Task Delete_NothingDeployed_Succeeds()
    {
        await using var h = await ShimletHarness.StartAsync();

        await h.Shimlet.DeleteAsync(ShimletHarness.Target, CancellationToken.None);
        await h.Shimlet.DeleteAsync(ShimletHarness.Target, CancellationToken.None);

        Assert.Empty(h.Server.DeletePropagation);
    }

    [Fact]
    public async Task Logs_TwoReplicas_ReturnsTheTailOfEveryPodPrefixedWithItsName()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(replicas: 2), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        var lines = await h.Shimlet.GetLogsAsync(ShimletHarness.Target, 3, CancellationToken.None);

        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.StartsWith($"[{ShimletHarness.Name}-", l, StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.EndsWith("INFO server listening on 0.0.0.0:8080", StringComparison.Ordinal)));
        Assert.Contains(h.Server.Requests, r => r.Contains("/log?", StringComparison.Ordinal) && r.Contains("timestamps=true", StringComparison.Ordinal));
    }

    private static List<string> PodsOf(ShimletHarness h, string workload) =>
        [.. h.Server.Store.List(FakeResource.Pods, "default", LabelSelector.Everything).Items
            .Where(p => p["metadata"]?["ownerReferences"]?[0]?["name"]?.GetValue<string>() == workload)
            .Select(p => p["metadata"]!["name"]!.GetValue<string>())];
}
