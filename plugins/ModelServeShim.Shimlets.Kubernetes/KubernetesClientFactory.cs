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

    /// <summary>
    /// Whether <see cref="GetClient"/> uses the in-cluster service account, i.e. the control plane runs in a pod of
    /// the cluster it deploys to and can reach cluster-internal endpoints. Default false.
    /// </summary>
    bool InCluster => false;
}

/// <summary>
/// Builds the client from the options: an explicit kubeconfig, else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>,
/// else the in-cluster service account. A failure is not cached, so fixing the kubeconfig needs no restart.
/// </summary>
public sealed class KubernetesClientFactory : IKubernetesClientFactory, IDisposable
{
    private readonly Lazy<IKubernetes> _client;
    private readonly Func<bool> _inCluster;

    /// <summary>Builds the client from kubeconfig / in-cluster settings chosen by <paramref name="options"/>.</summary>
    public KubernetesClientFactory(IOptions<KubernetesShimletOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var inCluster = false;
        _client = new Lazy<IKubernetes>(() =>
        {
            var configuration = LoadConfiguration(options.Value, out var fromServiceAccount);
            inCluster = fromServiceAccount;
            return new k8s.Kubernetes(configuration);
        }, LazyThreadSafetyMode.PublicationOnly);
        _inCluster = () => _client.IsValueCreated && inCluster;
    }

    /// <summary>Builds the client from an explicit configuration source (tests, custom hosts).</summary>
    /// <param name="configuration">Supplies the configuration on first use.</param>
    /// <param name="inCluster">Whether that configuration is the in-cluster service account (see <see cref="IKubernetesClientFactory.InCluster"/>).</param>
    public KubernetesClientFactory(Func<KubernetesClientConfiguration> configuration, bool inCluster = false)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _client = new Lazy<IKubernetes>(() => new k8s.Kubernetes(configuration()), LazyThreadSafetyMode.PublicationOnly);
        _inCluster = () => inCluster;
    }

    /// <inheritdoc />
    public IKubernetes GetClient() => _client.Value;

    /// <inheritdoc />
    public bool InCluster => _inCluster();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    /// <summary>Loads the client configuration the options point at.</summary>
    public static KubernetesClientConfiguration LoadConfiguration(KubernetesShimletOptions options) => LoadConfiguration(options, out _);

    /// <summary>Loads the client configuration the options point at; <paramref name="inCluster"/> tells whether it is the in-cluster service account.</summary>
    public static KubernetesClientConfiguration LoadConfiguration(KubernetesShimletOptions options, out bool inCluster)
    {
        ArgumentNullException.ThrowIfNull(options);
        inCluster = false;
        try
        {
            if (KubeconfigPath(options.KubeconfigPath) is { } path)
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, options.Context);
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                inCluster = true;
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
