using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Testing.Kubernetes;
using ModelServeShim.Tests.Shared;

namespace ModelServeShim.IntegrationTests.Kubernetes;

/// <summary>
/// The brief's quick start with a cluster: the real host, started as <c>--shimlet=k8s --pipeline=opensourcellm</c> on a
/// workstation, its built-in k8s shimlet reaching a fake kube-apiserver through a kubeconfig file the fixture writes
/// (<c>Shimlets:Kubernetes:KubeconfigPath</c>; every other Kubernetes setting is the default, so the control plane
/// is outside the cluster and reaches runtimes through the API server's service proxy). The model root holds a
/// sparse Llama-3.1-8B safetensors directory. Only the timings the product exposes as settings are shortened.
/// </summary>
public sealed class KubernetesEndToEndFactory : ShimFactory, IAsyncLifetime
{
    /// <summary>The 8B model directory, relative to the model root.</summary>
    public const string Llama8BDirectory = "llama-3-8b";

    private readonly TempDirectory _root = new("mss-k8s-e2e");
    private FakeKubeApiServer? _server;

    public KubernetesEndToEndFactory()
    {
        ModelRoot = _root.Sub("models");
        KubeconfigPath = Path.Combine(_root.Path, "kubeconfig");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ModServFactory.RepositoryRoot, "workflows"), "*.json"))
        {
            File.Copy(file, Path.Combine(WorkflowsDir, Path.GetFileName(file)));
        }
    }

    /// <summary>The fake API server the shimlet talks to (started before the host).</summary>
    public FakeKubeApiServer ApiServer => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    public string ModelRoot { get; }

    public string KubeconfigPath { get; }

    /// <summary>The 8B model's full path, as a user writes it in <c>modelFile</c>.</summary>
    public string Llama8BPath => Path.Combine(ModelRoot, Llama8BDirectory);

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("ModelServeShim:Shimlet", "k8s"),
        new("ModelServeShim:Pipeline", "opensourcellm"),
        new("Models:Roots:0", ModelRoot),
        new("Shimlets:Kubernetes:KubeconfigPath", KubeconfigPath),
        new("ControlPlane:HealthCheckInterval", "00:00:01"),
        new("HealthCheck:ProbeInterval", "00:00:00.200"),
    ];

    public async Task InitializeAsync()
    {
        _server = await FakeKubeApiServer.StartAsync();
        await File.WriteAllTextAsync(KubeconfigPath, Kubeconfig(_server.BaseUri));
        await SafetensorsTestFiles.WriteLlamaAsync(Llama8BPath, SafetensorsTestFiles.Llama31_8B);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        try
        {
            await DisposeAsync();
        }
        finally
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            _root.Dispose();
        }
    }

    /// <summary>A workstation's kubeconfig: one cluster, one user with a bearer token, its context current.</summary>
    private static string Kubeconfig(Uri server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {server.ToString().TrimEnd('/')}
        users:
        - name: developer
          user:
            token: e2e-token
        contexts:
        - name: fake
          context:
            cluster: fake
            user: developer
            namespace: default
        current-context: fake
        """;
}
