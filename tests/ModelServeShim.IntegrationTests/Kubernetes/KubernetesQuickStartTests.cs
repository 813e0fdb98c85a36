using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Shimlets.Kubernetes;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.IntegrationTests.Kubernetes;

/// <summary>
/// The brief's quick start end to end, through the real HTTP API of the real host, its built-in k8s shimlet pointed at
/// the fake kube-apiserver with a kubeconfig (the control plane outside the cluster, default Kubernetes settings).
/// Effects are asserted where they land: the service's state and last error, the pipeline's steps and journal, and
/// the objects in the fake API server's store.
/// </summary>
public sealed class KubernetesQuickStartTests(KubernetesEndToEndFactory factory) : IClassFixture<KubernetesEndToEndFactory>, IDisposable
{
    private const string Namespace = "default";

    /// <summary>How long a step may take here before the test gives up: far below the health check's 15 min timeout.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly HttpClient _client = factory.CreateClient();

    private FakeKubeApiServer Server => factory.ApiServer;

    [Fact]
    public async Task QuickStart_8BOnOneH20_AppliesDeploymentAndService_ReachesRunningThroughTheServiceProxy_ScalesAndUndeploys()
    {
        Server.Controller.DefaultScenario = PodScenario.Hold; // pods are created and stay ContainerCreating until the test marks them ready
        await using var runtime = await RuntimeBackend.StartAsync("llama-3-8b");

        var serviceId = await _client.DeployAsync(QuickStartBody("NVIDIA H20"));
        var name = KubernetesNames.ObjectName(serviceId);
        Server.ProxyBackends[(Namespace, name)] = runtime.BaseUri;

        // Applied by server-side apply as model-serve-shim: one GPU, on an H20 node.
        var deployment = await Poll.UntilAsync(() => Task.FromResult(Server.Store.Get(FakeResource.Deployments, Namespace, name)), "the Deployment to be applied", Bound);
        var service = await Poll.UntilAsync(() => Task.FromResult(Server.Store.Get(FakeResource.Services, Namespace, name)), "the Service to be applied", Bound);
        AssertAppliedBy("model-serve-shim", deployment);
        AssertAppliedBy("model-serve-shim", service);
        var pod = deployment["spec"]!["template"]!["spec"]!;
        Assert.Equal("1", (string?)pod["containers"]![0]!["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("NVIDIA-H20", (string?)pod["nodeSelector"]!["nvidia.com/gpu.product"]);
        Assert.Equal(1, (int)deployment["spec"]!["replicas"]!);

        // The pod is not ready yet: the health check waits.
        await _client.WaitForStateAsync(serviceId, "HealthChecking", Bound);
        Assert.Empty(runtime.Requests);

        // The test marks the pod ready, but the Service's endpoints lag: the proxy answers 503 and the step keeps waiting.
        Server.HoldServiceEndpoints = true;
        Server.Controller.SetScenario(Namespace, name, PodScenario.Ready);
        var waiting = await Poll.UntilAsync(
            async () => (await JournalAsync(serviceId)).FirstOrDefault(m => m.StartsWith("Running, but not answering yet", StringComparison.Ordinal)),
            "the health check to see the proxy's 503", Bound);
        Assert.Contains($"answered 503 no endpoints available for service \"{name}\"", waiting, StringComparison.Ordinal);
        Assert.Equal("HealthChecking", (await _client.GetServiceAsync(serviceId)).State());
        Assert.Empty(runtime.Requests);
        Server.HoldServiceEndpoints = false;

        // Then the runtime answers through the proxy and the service runs; users get the cluster URL.
        var running = await _client.WaitForStateAsync(serviceId, "Running", Bound);
        Assert.Equal($"http://{name}.{Namespace}.svc.cluster.local:8000/", (string?)running["service"]!["endpoint"]);
        Assert.Null(running["lastError"]);
        Assert.Equal(["/health", "/v1/models"], runtime.Requests);
        Assert.Contains(Server.Requests, r => r.StartsWith($"GET /api/v1/namespaces/{Namespace}/services/{name}:http/proxy/health", StringComparison.Ordinal));
        Assert.Contains(Server.Requests, r => r.StartsWith($"GET /api/v1/namespaces/{Namespace}/services/{name}:http/proxy/v1/models", StringComparison.Ordinal));
        Assert.Contains(await JournalAsync(serviceId), m => m.StartsWith($"Probing {serviceId} via {KubernetesShimlet.ApiServerProxyRoute}", StringComparison.Ordinal));
        Assert.Equal(["Succeeded", "Succeeded", "Succeeded", "Succeeded"], await StepStatusesAsync(serviceId));

        // A client of the OpenAI-compatible gateway reaches the pod the same way: through the API server's service proxy
        // (a POST, so RBAC's 'create' on services/proxy), with the model's name as the only address it needs.
        var chat = await _client.PostAsync("/v1/chat/completions", ApiClient.Json(
            """{"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}""")).ExpectAsync(HttpStatusCode.OK);
        var answer = await chat.ReadJsonAsync();
        Assert.Equal("hello from the pod", (string?)answer["choices"]![0]!["message"]!["content"]);
        Assert.Equal(9, (int)answer["usage"]!["total_tokens"]!);
        Assert.Equal("hi", (string?)JsonNode.Parse(Assert.Single(runtime.ChatRequests))!["messages"]![0]!["content"]);
        Assert.Contains(Server.Requests, r => r.StartsWith($"POST /api/v1/namespaces/{Namespace}/services/{name}:http/proxy/v1/chat/completions", StringComparison.Ordinal));

        // Without 'create' on services/proxy the gateway's POST is refused by the API server, and the answer says why.
        Server.ServiceProxyVerbs.Remove("create");
        try
        {
            var refused = await _client.PostAsync("/v1/chat/completions", ApiClient.Json(
                """{"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}"""));
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
            var error = (await refused.ReadJsonAsync())["error"]!;
            Assert.Equal("runtime_route_refused", (string?)error["code"]);
            Assert.Contains("'create' on 'services/proxy'", (string)error["message"]!, StringComparison.Ordinal);
            Assert.Single(runtime.ChatRequests);
        }
        finally
        {
            Server.ServiceProxyVerbs.Add("create");
        }

        // Scale to 2: the Deployment asks for 2, both pods turn ready, the service stays Running.
        await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.OK);
        await Poll.UntilAsync(
            () => Task.FromResult(Server.Store.Get(FakeResource.Deployments, Namespace, name) is { } d
                && d["spec"]?["replicas"]?.ToJsonString() == "2" && d["status"]?["readyReplicas"]?.ToJsonString() == "2" ? d : null),
            "the Deployment to have 2 ready replicas", Bound);
        Assert.Equal(2, ServiceObjects(serviceId, FakeResource.Pods).Count(IsReady));
        var scaled = await _client.WaitForStateAsync(serviceId, "Running", Bound);
        Assert.Equal(2, (int)scaled["service"]!["replicas"]!);

        // Undeploy: Stopped, and nothing of the service is left in the cluster.
        await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        var stopped = await _client.WaitForStateAsync(serviceId, "Stopped", Bound);
        Assert.Null(stopped["service"]!["endpoint"]);
        await Poll.UntilAsync(
            () => Task.FromResult(FakeResource.All.All(r => ServiceObjects(serviceId, r).Count == 0) ? "gone" : null),
            "the service's objects to be deleted", Bound,
            () => string.Join(", ", FakeResource.All.SelectMany(r => ServiceObjects(serviceId, r).Select(o => $"{r.Kind}/{o["metadata"]!["name"]}"))));
        Assert.Null(Server.Store.Get(FakeResource.Deployments, Namespace, name));
        Assert.Null(Server.Store.Get(FakeResource.Services, Namespace, name));
    }

    [Fact]
    public async Task QuickStart_RuntimeCrashLoopsAndPodLogsAnswer500_FailsCrashLoopPromptlySayingLogsAreUnavailable()
    {
        Server.Controller.DefaultScenario = PodScenario.CrashLoopBackOff;
        Server.PodLogFailure = PodLogFailure.KubeletUnreachable;

        var serviceId = await _client.DeployAsync(QuickStartBody("NVIDIA H20"));

        // Promptly: within the bound, not after the health check's 15 min timeout (no wait on the failed log read).
        var failed = await _client.WaitForStateAsync(serviceId, "Failed", Bound);
        var error = failed["lastError"]!;
        Assert.Equal(("health-check", "CrashLoop"), ((string?)error["step"], (string?)error["type"]));
        var message = (string)error["message"]!;
        Assert.Contains("CrashLoopBackOff", message, StringComparison.Ordinal);
        Assert.Contains("logs unavailable: 500", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Running", failed.Transitions().Select(t => t.Split('→')[1]));
        Assert.Equal(["Succeeded", "Succeeded", "Succeeded", "Failed"], await StepStatusesAsync(serviceId));
        Assert.Contains(Server.Requests, r => r.StartsWith("GET /api/v1/namespaces/default/pods/", StringComparison.Ordinal) && r.Contains("/log?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QuickStart_8BOnOneL4_FailsAtModelValidation_AndNothingIsApplied()
    {
        var serviceId = await _client.DeployAsync(QuickStartBody("NVIDIA L4"));

        var failed = await _client.WaitForStateAsync(serviceId, "Failed", Bound);
        var error = failed["lastError"]!;
        Assert.Equal(("model-validation", "InsufficientAcceleratorMemory"), ((string?)error["step"], (string?)error["type"]));
        Assert.Contains("at 131072 tokens", (string)error["message"]!, StringComparison.Ordinal); // the model's native context
        Assert.Equal(["Failed", "Skipped", "Skipped", "Skipped"], await StepStatusesAsync(serviceId));

        var name = KubernetesNames.ObjectName(serviceId);
        Assert.Null(Server.Store.Get(FakeResource.Deployments, Namespace, name));
        Assert.Null(Server.Store.Get(FakeResource.Services, Namespace, name));
        Assert.All(FakeResource.All, r => Assert.Empty(ServiceObjects(serviceId, r)));
        Assert.DoesNotContain(Server.Requests, r => r.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task QuickStart_ServiceProxyForbidden_FailsNotRetryableNamingServicesProxy()
    {
        Server.DenyServiceProxy = true;
        await using var runtime = await RuntimeBackend.StartAsync("llama-3-8b");

        var serviceId = await _client.DeployAsync(QuickStartBody("NVIDIA H20"));
        Server.ProxyBackends[(Namespace, KubernetesNames.ObjectName(serviceId))] = runtime.BaseUri;

        var failed = await _client.WaitForStateAsync(serviceId, "Failed", Bound);
        var error = failed["lastError"]!;
        Assert.Equal(("health-check", KubernetesErrorTypes.Forbidden), ((string?)error["step"], (string?)error["type"]));
        Assert.Contains("'get' on 'services/proxy' in namespace default", (string)error["message"]!, StringComparison.Ordinal);
        var healthCheck = (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Single(s => (string)s!["name"]! == "health-check")!;
        var attempt = Assert.Single(healthCheck["attemptDetails"]!.AsArray())!;
        Assert.Equal((KubernetesErrorTypes.Forbidden, false), ((string?)attempt["errorType"], (bool?)attempt["retryable"]));
        Assert.Empty(runtime.Requests);
    }

    /// <summary>Puts the fake back to its defaults for the next test (pods turn ready, logs and the proxy answer).</summary>
    public void Dispose()
    {
        Server.Controller.DefaultScenario = PodScenario.Ready;
        Server.PodLogFailure = PodLogFailure.None;
        Server.DenyServiceProxy = false;
        Server.HoldServiceEndpoints = false;
        Assert.Empty(Server.Controller.Errors);
    }

    /// <summary>The brief's deploy body, with the 8B model inside the model root and the given accelerator.</summary>
    private JsonObject QuickStartBody(string acceleratorType) => new()
    {
        ["modelName"] = "llama-3-8b",
        ["modelFile"] = factory.Llama8BPath,
        ["resourceRequirements"] = new JsonObject
        {
            ["acceleratorType"] = acceleratorType,
            ["acceleratorCount"] = 1,
            ["cpu"] = "4",
            ["memory"] = "16Gi",
        },
        ["replicaCount"] = 1,
        ["shimlet"] = "k8s",
        ["pipeline"] = "opensourcellm",
    };

    /// <summary>The objects of one service in the fake's store, found by the labels the shimlet puts on them.</summary>
    private List<JsonObject> ServiceObjects(string serviceId, FakeResource resource) =>
        Server.Store.List(resource, Namespace, LabelSelector.Parse(KubernetesManifestRenderer.LabelSelector(KubernetesNames.ServiceIdLabel(serviceId)))).Items;

    private static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"]?.AsArray() ?? []).Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True");

    private static void AssertAppliedBy(string manager, JsonObject obj)
    {
        var entries = obj["metadata"]!["managedFields"]!.AsArray();
        Assert.Contains(entries, e => (string?)e!["manager"] == manager && (string?)e["operation"] == "Apply");
    }

    private async Task<List<string>> JournalAsync(string serviceId)
    {
        var logs = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        return [.. logs["items"]!.AsArray().Select(e => (string)e!["message"]!)];
    }

    private async Task<List<string>> StepStatusesAsync(string serviceId) =>
        [.. (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Select(s => (string)s!["status"]!)];
}
