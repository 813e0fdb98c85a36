using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

/// <summary>A fake API server, a real KubernetesClient pointed at it, and the shimlet under test.</summary>
internal sealed class ShimletHarness : IAsyncDisposable
{
    public const string ServiceId = "qwen2-7b-0f8e6c1a-1b2c-4d5e-8f90-123456789abc";
    public const string Namespace = "default";

    private ShimletHarness(FakeKubeApiServer server, KubernetesShimletOptions options, IKubernetes client, KubernetesShimlet shimlet)
    {
        Server = server;
        Options = options;
        Client = client;
        Shimlet = shimlet;
    }

    public FakeKubeApiServer Server { get; }

    public KubernetesShimletOptions Options { get; }

    /// <summary>A second client on the fake, for the test's own reads and foreign writes.</summary>
    public IKubernetes Client { get; }

    public KubernetesShimlet Shimlet { get; }

    public static string Name => KubernetesNames.ObjectName(ServiceId);

    public static ServiceTarget Target => new(ServiceId, Namespace);

    /// <param name="configure">Changes the shimlet's options.</param>
    /// <param name="inCluster">Whether the client counts as the in-cluster service account (the control plane runs in the cluster).</param>
    public static async Task<ShimletHarness> StartAsync(Action<KubernetesShimletOptions>? configure = null, bool inCluster = false)
    {
        var server = await FakeKubeApiServer.StartAsync();
        var options = new KubernetesShimletOptions
        {
            WatchReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            WatchReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        };
        options.Accelerators.Values["NVIDIA H20"] = "NVIDIA-H20";
        options.Tolerations.Add(new TolerationOptions { Key = "nvidia.com/gpu", Operator = "Exists", Effect = "NoSchedule" });
        configure?.Invoke(options);

        var validation = new KubernetesShimletOptionsValidator().Validate(null, options);
        Assert.True(validation.Succeeded, validation.FailureMessage);

        var config = new KubernetesClientConfiguration { Host = server.BaseUri.ToString() };
        var factory = new KubernetesClientFactory(() => config, inCluster);
        var shimlet = new KubernetesShimlet(factory, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<KubernetesShimlet>.Instance);
        return new ShimletHarness(server, options, new k8s.Kubernetes(config), shimlet);
    }

    public static DeploymentSpec Spec(int replicas = 1, bool stableIdentity = false) => new()
    {
        ServiceId = ServiceId,
        ModelName = "qwen2-7b",
        Namespace = Namespace,
        Labels = new Dictionary<string, string> { ["team"] = "ml" },
        Runtime = "vllm",
        Image = "vllm/vllm-openai:v0.6.3",
        Command = ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        Args = ["--model", "/models", "--port", "8000"],
        Environment = new Dictionary<string, string> { ["HF_HUB_OFFLINE"] = "1" },
        Port = 8000,
        HealthPath = "/health",
        Resources = new ResourceSpec("4", "16Gi", "NVIDIA H20", 1),
        Replicas = replicas,
        ModelPath = "/data/models/qwen2-7b",
        ModelMountPath = "/models",
        StableIdentity = stableIdentity,
        StartupTimeout = TimeSpan.FromMinutes(10),
    };

    /// <summary>Polls the shimlet's status until <paramref name="until"/> holds (real time: the fake's controller runs on it).</summary>
    public async Task<ShimletStatus> WaitForStatusAsync(Func<ShimletStatus, bool> until, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        ShimletStatus status;
        do
        {
            status = await Shimlet.GetStatusAsync(Target, CancellationToken.None);
            if (until(status))
            {
                return status;
            }

            await Task.Delay(25);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Status never matched; last: {status}");
        return status;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Assert.Empty(Server.Controller.Errors);
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
