using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

public sealed partial class KubernetesShimlet
{
    /// <summary>The route name of requests sent through the API server's service proxy.</summary>
    public const string ApiServerProxyRoute = "api-server-proxy";

    /// <summary>
    /// Direct to the status endpoint, or through the API server's service proxy
    /// (<c>{apiserver}/api/v1/namespaces/{ns}/services/{name}:http/proxy</c>) with the shimlet's credentials, as
    /// <see cref="KubernetesShimletOptions.RuntimeAccess"/> chooses (<c>Auto</c>: direct only when the client uses the
    /// in-cluster service account).
    /// </summary>
    public ValueTask<RuntimeAccess> GetRuntimeAccessAsync(ServiceTarget target, ShimletStatus status, HttpMessageInvoker direct, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(direct);
        var client = clientFactory.GetClient();
        var mode = _options.RuntimeAccess == KubernetesRuntimeAccess.Auto
            ? clientFactory.InCluster ? KubernetesRuntimeAccess.Direct : KubernetesRuntimeAccess.ApiServerProxy
            : _options.RuntimeAccess;

        if (mode == KubernetesRuntimeAccess.Direct)
        {
            var endpoint = status.Endpoint ?? throw new ArgumentException("The status has no endpoint to reach.", nameof(status));
            return ValueTask.FromResult(new RuntimeAccess(endpoint, direct, RuntimeAccess.DirectRoute));
        }

        if (client is not k8s.Kubernetes kubernetes)
        {
            // A custom client factory without the stock client: its credentials are out of reach.
            logger.LogWarning("The Kubernetes client is a {ClientType}, not k8s.Kubernetes; reaching {ServiceId} directly instead of through the API server proxy",
                client.GetType().Name, target.ServiceId);
            var endpoint = status.Endpoint ?? throw new ArgumentException("The status has no endpoint to reach.", nameof(status));
            return ValueTask.FromResult(new RuntimeAccess(endpoint, direct, RuntimeAccess.DirectRoute));
        }

        var (ns, _) = Locate(target);
        var service = KubernetesNames.ObjectName(target.ServiceId);
        var baseAddress = new Uri(kubernetes.BaseUri, $"api/v1/namespaces/{ns}/services/{service}:{KubernetesManifestRenderer.PortName}/proxy");
        var handler = new ApiServerProxyHandler(kubernetes, ns, service, _options.ProxyRequestTimeout, _time);
        return ValueTask.FromResult(new RuntimeAccess(baseAddress, new HttpMessageInvoker(handler, disposeHandler: true), ApiServerProxyRoute));
    }
}
