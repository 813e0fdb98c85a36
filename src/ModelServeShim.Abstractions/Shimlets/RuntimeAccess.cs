namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// How the control plane reaches a running service's runtime over HTTP (health checks, model lists): the base
/// address requests go to and the invoker that sends them. Not the address users are given
/// (<see cref="ShimletStatus.Endpoint"/> stays that): a control plane outside a cluster may have to go through the
/// cluster's API server to reach a runtime its users reach directly.
/// </summary>
/// <param name="BaseAddress">Where the runtime's root path is; paths such as <c>/health</c> are appended to it.</param>
/// <param name="Invoker">
/// Sends the requests, applying whatever the route needs (credentials, a timeout). Owned by the shimlet or the host:
/// callers do not dispose it. It may throw a <see cref="Activities.StepException"/> for a failure of the route itself
/// that retrying cannot fix (for example a missing permission); a runtime that does not answer yet is an ordinary
/// non-success response or an <see cref="HttpRequestException"/>.
/// </param>
/// <param name="Route">What the route is, for logs and the journal (<see cref="DirectRoute"/> or a shimlet's own name).</param>
public sealed record RuntimeAccess(Uri BaseAddress, HttpMessageInvoker Invoker, string Route)
{
    /// <summary>The route of the default access: straight to <see cref="ShimletStatus.Endpoint"/>.</summary>
    public const string DirectRoute = "direct";

    /// <summary>
    /// The absolute URL of <paramref name="path"/> (which starts with <c>/</c>) under <see cref="BaseAddress"/>,
    /// keeping the base address's own path: <c>http://h/a</c> + <c>/health</c> is <c>http://h/a/health</c>.
    /// </summary>
    public Uri Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!path.StartsWith('/'))
        {
            throw new ArgumentException($"'{path}' must start with '/'.", nameof(path));
        }

        return new Uri(BaseAddress.GetLeftPart(UriPartial.Path).TrimEnd('/') + path);
    }
}
