using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace ModelServeShim.Gateway;

/// <summary>
/// The gateway's own HTTP client for runtimes reached directly (local processes, containers): set up the way YARP
/// expects of a forwarding client (no proxy, redirects, cookies or decompression; trace context propagated) and shared
/// by every request. Shimlets whose runtimes need another route return their own invoker from
/// <see cref="Abstractions.Shimlets.IShimlet.GetRuntimeAccessAsync"/>.
/// </summary>
public sealed class GatewayHttp(IOptions<GatewayOptions> options) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        ConnectTimeout = options.Value.ConnectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
    });

    /// <summary>The direct invoker.</summary>
    public HttpMessageInvoker Invoker => _invoker;

    /// <inheritdoc />
    public void Dispose() => _invoker.Dispose();
}
