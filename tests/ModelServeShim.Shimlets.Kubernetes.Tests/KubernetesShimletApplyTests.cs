using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletApplyTests
{
    [Fact]
    public async Task Apply_WithImagePullSecretsConfigured_ReferencesThemByNameOnly()
    {
        await using var h = await ShimletHarness.StartAsync(o =>
        {
            o.ImagePullSecrets.Add("registry-creds");
            o.ImagePullSecrets.Add("mirror-creds");
        });

        var result = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var deployment = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default");
        Assert.Equal(["registry-creds", "mirror-creds"], deployment.Spec.Template.Spec.ImagePullSecrets.Select(s => s.Name));
        // Referenced, never created or read: no Secret among what the apply touched.
        Assert.DoesNotContain(result.ResourceIds, id => id.Contains("Secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Apply_WithoutImagePullSecrets_RendersNone()
    {
        await using var h = await ShimletHarness.StartAsync();

        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var deployment = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default");
        Assert.Null(deployment.Spec.Template.Spec.ImagePullSecrets);
    }

    [Fact]
    public async Task Apply_NewSpec_CreatesTypedDeploymentAndServiceWithEverythingTheSpecAsks()
    {
        await using var h = await ShimletHarness.StartAsync();

        var result = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var name = ShimletHarness.Name;
        Assert.True(result.Changed);
        Assert.Equal([$"apps/v1/Deployment/default/{name}", $"v1/Service/default/{name}"], result.ResourceIds);

        var deployment = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(name, "default");
        var expectedLabels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "qwen2-7b",
            ["app.kubernetes.io/instance"] = ShimletHarness.ServiceId,
            ["app.kubernetes.io/managed-by"] = "model-serve-shim",
            ["modelserveshim.io/service-id"] = ShimletHarness.ServiceId,
            ["team"] = "ml",
        };
        Assert.Equal(expectedLabels, deployment.Metadata.Labels);
        Assert.Equal(expectedLabels, deployment.Spec.Template.Metadata.Labels);
        Assert.Equal(ShimletHarness.ServiceId, deployment.Metadata.Annotations["modelserveshim.io/service-id"]);
        Assert.Equal(1, deployment.Spec.Replicas);

        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal("vllm/vllm-openai:v0.6.3", container.Image);
        Assert.Equal(["python3", "-m", "vllm.entrypoints.openai.api_server"], container.Command);
        Assert.Equal(["--model", "/models", "--port", "8000"], container.Args);
        Assert.Equal("1", Assert.Single(container.Env, e => e.Name == "HF_HUB_OFFLINE").Value);
        Assert.Equal(8000, Assert.Single(container.Ports).ContainerPort);
        Assert.Equal("4", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("16Gi", container.Resources.Requests["memory"].ToString());
        Assert.Equal("4", container.Resources.Limits["cpu"].ToString());
        Assert.Equal("16Gi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("1", container.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.False(container.Resources.Requests.ContainsKey("nvidia.com/gpu"));

        Assert.Equal(new Dictionary<string, string> { ["nvidia.com/gpu.product"] = "NVIDIA-H20" }, pod.NodeSelector);
        var toleration = Assert.Single(pod.Tolerations);
        Assert.Equal(("nvidia.com/gpu", "Exists", "NoSchedule"), (toleration.Key, toleration.OperatorProperty, toleration.Effect));

        var modelMount = Assert.Single(container.VolumeMounts, m => m.MountPath == "/models");
        Assert.True(modelMount.ReadOnlyProperty);
        var modelVolume = Assert.Single(pod.Volumes, v => v.Name == modelMount.Name);
        Assert.Equal("/data/models/qwen2-7b", modelVolume.HostPath.Path);
        var shmMount = Assert.Single(container.VolumeMounts, m => m.MountPath == "/dev/shm");
        var shm = Assert.Single(pod.Volumes, v => v.Name == shmMount.Name).EmptyDir;
        Assert.Equal("Memory", shm.Medium);
        Assert.Equal("8Gi", shm.SizeLimit.ToString());

        foreach (var probe in new[] { container.StartupProbe, container.ReadinessProbe, container.LivenessProbe })
        {
            Assert.Equal("/health", probe.HttpGet.Path);
            Assert.Equal("http", probe.HttpGet.Port.Value);
        }

        // Ten minutes of startup budget: 60 failures, 10 seconds apart.
        Assert.Equal((60, 10), (container.StartupProbe.FailureThreshold, container.StartupProbe.PeriodSeconds));

        var service = await h.Client.CoreV1.ReadNamespacedServiceAsync(name, "default");
        Assert.Equal(expectedLabels, service.Metadata.Labels);
        Assert.Equal("ClusterIP", service.Spec.Type);
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal((8000, "http"), (port.Port, port.TargetPort.Value));
        Assert.Equal(deployment.Spec.Selector.MatchLabels, service.Spec.Selector);

        var apply = Assert.Single(h.Server.Requests, r => r.StartsWith($"PATCH /apis/apps/v1/namespaces/default/deployments/{name}?", StringComparison.Ordinal));
        Assert.Contains("fieldManager=model-serve-shim", apply, StringComparison.Ordinal);
        Assert.Contains("force=false", apply, StringComparison.Ordinal);
        Assert.Contains(" application/apply-patch+yaml", apply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_SameSpecTwice_SecondReportsUnchanged()
    {
        await using var h = await ShimletHarness.StartAsync();
        var first = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        var before = (await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default")).Metadata.ResourceVersion;
        var serviceBefore = (await h.Client.CoreV1.ReadNamespacedServiceAsync(ShimletHarness.Name, "default")).Metadata.ResourceVersion;

        var second = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        Assert.True(first.Changed);
        Assert.False(second.Changed);
        Assert.Equal(first.ResourceIds, second.ResourceIds);
        Assert.Equal(before, (await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default")).Metadata.ResourceVersion);
        Assert.Equal(serviceBefore, (await h.Client.CoreV1.ReadNamespacedServiceAsync(ShimletHarness.Name, "default")).Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Apply_ChangedImage_ReportsChanged()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var result = await h.Shimlet.ApplyAsync(ShimletHarness.Spec() with { Image = "vllm/vllm-openai:v0.7.0" }, CancellationToken.None);

        Assert.True(result.Changed);
        var deployment = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default");
        Assert.Equal("vllm/vllm-openai:v0.7.0", deployment.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(2, deployment.Metadata.Generation);
    }

    [Fact]
    public async Task Apply_FieldOwnedByAnotherManager_ThrowsNonRetryableApplyConflictNamingManagerAndField()
    {
        await using var h = await ShimletHarness.StartAsync();
        var foreign = h.Shimlet.Render(ShimletHarness.Spec()).Deployment!;
        foreign.Spec.Template.Spec.Containers[0].Image = "registry.example.com/patched:1";
        await h.Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(foreign, V1Patch.PatchType.ApplyPatch), ShimletHarness.Name, "default", fieldManager: "kubectl");

        var error = await Assert.ThrowsAsync<StepException>(() => h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None));

        Assert.Equal("ApplyConflict", error.ErrorType);
        Assert.False(error.Retryable);
        Assert.Contains("\"kubectl\"", error.Message, StringComparison.Ordinal);
        Assert.Contains(".spec.template.spec.containers", error.Message, StringComparison.Ordinal);
        var conflict = Assert.Single(Assert.IsType<List<Dictionary<string, string?>>>(error.Details["conflicts"]));
        Assert.Equal(".spec.template.spec.containers", conflict["field"]);
        var stillForeign = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default");
        Assert.Equal("registry.example.com/patched:1", stillForeign.Spec.Template.Spec.Containers[0].Image);
    }

    [Fact]
    public async Task Apply_ForceConflictsEnabled_TakesOverTheField()
    {
        await using var h = await ShimletHarness.StartAsync(o => o.ForceConflicts = true);
        var foreign = h.Shimlet.Render(ShimletHarness.Spec()).Deployment!;
        foreign.Spec.Template.Spec.Containers[0].Image = "registry.example.com/patched:1";
        await h.Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(foreign, V1Patch.PatchType.ApplyPatch), ShimletHarness.Name, "default", fieldManager: "kubectl");

        var result = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        Assert.True(result.Changed);
        var deployment = await h.Client.AppsV1.ReadNamespacedDeploymentAsync(ShimletHarness.Name, "default");
        Assert.Equal("vllm/vllm-openai:v0.6.3", deployment.Spec.Template.Spec.Containers[0].Image);
        Assert.Contains(h.Server.Requests, r => r.Contains("force=true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Apply_StableIdentity_RendersStatefulSetWithHeadlessServiceAndSwitchingBackPrunesThem()
    {
        await using var h = await ShimletHarness.StartAsync();
        var name = ShimletHarness.Name;

        var result = await h.Shimlet.ApplyAsync(ShimletHarness.Spec(stableIdentity: true), CancellationToken.None);

        Assert.Equal([$"apps/v1/StatefulSet/default/{name}", $"v1/Service/default/{name}-hl", $"v1/Service/default/{name}"], result.ResourceIds);
        var statefulSet = await h.Client.AppsV1.ReadNamespacedStatefulSetAsync(name, "default");
        Assert.Equal($"{name}-hl", statefulSet.Spec.ServiceName);
        Assert.Equal("None", (await h.Client.CoreV1.ReadNamespacedServiceAsync($"{name}-hl", "default")).Spec.ClusterIP);
        var running = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        Assert.Equal(new Uri($"http://{name}.default.svc.cluster.local:8000"), running.Endpoint);

        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        Assert.NotNull(await h.Client.AppsV1.ReadNamespacedDeploymentAsync(name, "default"));
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.Get(FakeResource.StatefulSets, "default", name) is null, "the StatefulSet's foreground deletion");
        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.AppsV1.ReadNamespacedStatefulSetAsync(name, "default"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
        var headlessGone = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.ReadNamespacedServiceAsync($"{name}-hl", "default"));
        Assert.Equal(HttpStatusCode.NotFound, headlessGone.Response.StatusCode);
    }

    [Fact]
    public async Task Apply_ReservedOrInvalidLabel_ThrowsInvalidInputWithoutCallingTheApi()
    {
        await using var h = await ShimletHarness.StartAsync();

        var reserved = await Assert.ThrowsAsync<StepException>(() => h.Shimlet.ApplyAsync(
            ShimletHarness.Spec() with { Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "me" } }, CancellationToken.None));
        var invalid = await Assert.ThrowsAsync<StepException>(() => h.Shimlet.ApplyAsync(
            ShimletHarness.Spec() with { Labels = new Dictionary<string, string> { ["team"] = "ml; rm -rf" } }, CancellationToken.None));

        Assert.Equal((StepErrorTypes.InvalidInput, false), (reserved.ErrorType, reserved.Retryable));
        Assert.Equal((StepErrorTypes.InvalidInput, false), (invalid.ErrorType, invalid.Retryable));
        Assert.Equal("Labels", invalid.Details["field"]);
        Assert.Empty(h.Server.Requests);
    }
}
