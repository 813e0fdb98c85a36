using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Supplies the Kubernetes client the shimlet talks through.</summary>
public interface IKubernetesClientFactory
{
    /// <summary>The client; built on first use, so a host without a cluster starts fine.</summary>
    /// <exception cref="StepException">No configuration could be loaded (<c>KubernetesNotConfigured</c>, not retryable).</exception>
    IKubernetes GetClient();
}

/// <summary>
/// Builds the client from the options: an explicit kubeconfig, else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>,
/// else the in-cluster service account. A failure is not cached, so fixing the kubeconfig needs no restart.
/// </summary>
public sealed class KubernetesClientFactory : IKubernetesClientFactory, IDisposable
{
    private readonly Lazy<IKubernetes> _client;

    /// <summary>Builds the client from kubeconfig / in-cluster settings chosen by <paramref name="options"/>.</summary>
    public KubernetesClientFactory(IOptions<KubernetesShimletOptions> options)
        : this(() => LoadConfiguration(options.Value))
    {
    }

    /// <summary>Builds the client from an explicit configuration source (tests, custom hosts).</summary>
    public KubernetesClientFactory(Func<KubernetesClientConfiguration> configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _client = new Lazy<IKubernetes>(() => new k8s.Kubernetes(configuration()), LazyThreadSafetyMode.PublicationOnly);
    }

    /// <inheritdoc />
    public IKubernetes GetClient() => _client.Value;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    /// <summary>Loads the client configuration the options point at.</summary>
    public static KubernetesClientConfiguration LoadConfiguration(KubernetesShimletOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            if (KubeconfigPath(options.KubeconfigPath) is { } path)
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, options.Context);
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                return KubernetesClientConfiguration.InClusterConfig();
            }
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException)
        {
            throw StepException.NonRetryable(KubernetesErrorTypes.NotConfigured,
                $"The Kubernetes client configuration could not be loaded: {e.Message} Check {KubernetesShimletOptions.SectionName}:KubeconfigPath, KUBECONFIG and :Context.", e);
        }

        throw StepException.NonRetryable(KubernetesErrorTypes.NotConfigured,
            $"No Kubernetes configuration found: set {KubernetesShimletOptions.SectionName}:KubeconfigPath or KUBECONFIG, create ~/.kube/config, or run inside a cluster.");
    }

    /// <summary>The explicit path, else the first existing file of <c>KUBECONFIG</c> (files are not merged), else <c>~/.kube/config</c>.</summary>
    private static string? KubeconfigPath(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw StepException.NonRetryable(KubernetesErrorTypes.NotConfigured,
                    $"The kubeconfig '{explicitPath}' ({KubernetesShimletOptions.SectionName}:KubeconfigPath) does not exist.");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            var existing = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault(File.Exists);
            if (existing is not null)
            {
                return existing;
            }
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var defaultPath = Path.Combine(home, ".kube", "config");
        return File.Exists(defaultPath) ? defaultPath : null;
    }
}
