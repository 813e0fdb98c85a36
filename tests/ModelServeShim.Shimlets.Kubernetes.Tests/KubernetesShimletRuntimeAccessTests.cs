using System.Net;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Activities.Llm;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletRuntimeAccessTests
{
    private static readonly HttpClient Direct = new();

    [Fact]
    public async Task RuntimeAccess_DefaultOutsideTheCluster_GoesThroughTheApiServerServiceProxy()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        var access = await h.Shimlet.GetRuntimeAccessAsync(ShimletHarness.Target, status, Direct, CancellationToken.None);

        Assert.Equal(KubernetesShimlet.ApiServerProxyRoute, access.Route);
        Assert.Equal(new Uri(h.Server.BaseUri, $"api/v1/namespaces/default/services/{ShimletHarness.Name}:http/proxy/health"), access.Resolve("/health"));
        Assert.NotSame(Direct, access.Invoker);
        Assert.Equal(new Uri($"http://{ShimletHarness.Name}.default.svc.cluster.local:8000"), status.Endpoint); // what users are given
    }

    [Theory]
    [InlineData(KubernetesRuntimeAccess.Auto, true)]
    [InlineData(KubernetesRuntimeAccess.Direct, false)]
    public async Task RuntimeAccess_InClusterOrDirect_UsesTheEndpointWithTheHostsClient(KubernetesRuntimeAccess setting, bool inCluster)
    {
        await using var h = await ShimletHarness.StartAsync(o => o.RuntimeAccess = setting, inCluster);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        var access = await h.Shimlet.GetRuntimeAccessAsync(ShimletHarness.Target, status, Direct, CancellationToken.None);

        Assert.Equal((RuntimeAccess.DirectRoute, status.Endpoint), (access.Route, access.BaseAddress));
        Assert.Same(Direct, access.Invoker);
    }

    [Fact]
    public async Task Proxy_BeforeAnyPodIsReady_Answers503NoEndpointsThen200OncePodsAreReady()
    {
        await using var h = await ShimletHarness.StartAsync();
        await using var backend = await RuntimeBackend.StartAsync("qwen2-7b");
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = backend.BaseUri;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        var pending = await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.Pending);
        var access = await h.Shimlet.GetRuntimeAccessAsync(ShimletHarness.Target, pending with { Endpoint = new Uri("http://unused") }, Direct, CancellationToken.None);

        using (var notYet = await access.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, access.Resolve("/health")), CancellationToken.None))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notYet.StatusCode);
            Assert.Equal($"no endpoints available for service \"{ShimletHarness.Name}\"", notYet.ReasonPhrase);
        }

        Assert.Empty(backend.Requests);
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);

        using var ready = await access.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, access.Resolve("/health")), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(["/health"], backend.Requests);
    }

    [Fact]
    public async Task HealthCheck_OutsideTheClusterWithDefaultSettings_Waits503NoEndpointsThenReachesReadyThroughTheProxy()
    {
        await using var h = await ShimletHarness.StartAsync();
        await using var backend = await RuntimeBackend.StartAsync("qwen2-7b");
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = backend.BaseUri;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        using var runner = new HealthCheckRunner(h.Shimlet);

        var run = runner.RunAsync(ShimletHarness.ServiceId, ShimletHarness.Namespace, "qwen2-7b", TimeSpan.FromSeconds(20));
        await ShimletHarness.WaitUntilAsync(() => runner.Context?.Journal.Any(j => j.Message.StartsWith("Status: Pending", StringComparison.Ordinal)) == true, "the step to see Pending");

        // The rollout is ready before the Service's endpoints are: the proxy answers 503 and the step keeps waiting.
        h.Server.HoldServiceEndpoints = true;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);
        await ShimletHarness.WaitUntilAsync(() => runner.Context.Journal.Any(j => j.Message.StartsWith("Running, but not answering yet", StringComparison.Ordinal)), "a probe answered 503");
        Assert.False(run.IsCompleted);
        h.Server.HoldServiceEndpoints = false;

        Assert.Equal(ActivityResult.Done, await run);
        var waiting = runner.Context.Journal.First(j => j.Message.StartsWith("Running, but not answering yet", StringComparison.Ordinal));
        Assert.Contains($"answered 503 no endpoints available for service \"{ShimletHarness.Name}\"", waiting.Message, StringComparison.Ordinal);
        Assert.Equal($"http://{ShimletHarness.Name}.default.svc.cluster.local:8000/", runner.Context.Outputs["endpoint"]!.GetValue<string>());
        Assert.Equal(["/health", "/v1/models"], backend.Requests);
        Assert.Contains(h.Server.Requests, r => r.StartsWith($"GET /api/v1/namespaces/default/services/{ShimletHarness.Name}:http/proxy/v1/models", StringComparison.Ordinal));
        var route = Assert.Single(runner.Context.Journal, j => j.Message.StartsWith("Probing", StringComparison.Ordinal));
        Assert.Equal(KubernetesShimlet.ApiServerProxyRoute, route.Properties!["route"]);
    }

    [Fact]
    public async Task HealthCheck_ProxyAnswersServedModelOtherThanExpected_FailsNotServed()
    {
        await using var h = await ShimletHarness.StartAsync();
        await using var backend = await RuntimeBackend.StartAsync("something-else");
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = backend.BaseUri;
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        using var runner = new HealthCheckRunner(h.Shimlet);

        var error = await Assert.ThrowsAsync<StepException>(() => runner.RunAsync(ShimletHarness.ServiceId, ShimletHarness.Namespace, "qwen2-7b", TimeSpan.FromSeconds(20)));

        Assert.Equal((LlmErrorTypes.ModelNotServed, false), (error.ErrorType, error.Retryable));
    }

    [Fact]
    public async Task HealthCheck_ProxyForbidden_FailsAtOnceNotRetryableNamingServicesProxy()
    {
        await using var h = await ShimletHarness.StartAsync();
        await using var backend = await RuntimeBackend.StartAsync("qwen2-7b");
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = backend.BaseUri;
        h.Server.DenyServiceProxy = true;
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        using var runner = new HealthCheckRunner(h.Shimlet);

        var error = await Assert.ThrowsAsync<StepException>(() => runner.RunAsync(ShimletHarness.ServiceId, ShimletHarness.Namespace, null, TimeSpan.FromSeconds(20)));

        Assert.Equal((KubernetesErrorTypes.Forbidden, false), (error.ErrorType, error.Retryable));
        Assert.Contains("'get' on 'services/proxy' in namespace default", error.Message, StringComparison.Ordinal);
        Assert.Contains("RuntimeAccess=Direct", error.Message, StringComparison.Ordinal);
        Assert.Equal("services/proxy: get", error.Details["permission"]);
        Assert.Empty(backend.Requests);
        var journaled = Assert.Single(runner.Context.Journal, j => j.Level == Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.Equal(("services/proxy: get", KubernetesErrorTypes.Forbidden), (journaled.Properties!["permission"], journaled.Properties["errorType"]));
    }

    [Fact]
    public async Task Proxy_RuntimeAnswersAnError_PassesItThroughUnchanged()
    {
        await using var h = await ShimletHarness.StartAsync();
        await using var backend = await RuntimeBackend.StartAsync("qwen2-7b");
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = backend.BaseUri;
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        var access = await h.Shimlet.GetRuntimeAccessAsync(ShimletHarness.Target, status, Direct, CancellationToken.None);

        using var response = await access.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, access.Resolve("/missing")), CancellationToken.None);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode); // the runtime's 404, passed through
    }

    [Fact]
    public async Task Proxy_NoAnswerWithinTheTimeout_IsAnHttpRequestFailureNamingTheSetting()
    {
        await using var h = await ShimletHarness.StartAsync(o => o.ProxyRequestTimeout = TimeSpan.FromMilliseconds(300));
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        var status = await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections, never answers
        h.Server.ProxyBackends[(ShimletHarness.Namespace, ShimletHarness.Name)] = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/");
        var access = await h.Shimlet.GetRuntimeAccessAsync(ShimletHarness.Target, status, Direct, CancellationToken.None);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => access.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, access.Resolve("/health")), CancellationToken.None));

        Assert.Contains("ProxyRequestTimeout", error.Message, StringComparison.Ordinal);
    }
}
