using System.Net;
using System.Text.Json;
using k8s;
using k8s.Models;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>
/// Sends requests for a runtime through the API server's service proxy with the shimlet's own client: its
/// credentials (<see cref="k8s.Kubernetes.Credentials"/>, which refreshes tokens and runs exec plugins) and its
/// HTTP client (which carries the kubeconfig's TLS settings and client certificate). Each request has
/// <paramref name="timeout"/>. Answers of the API server itself are told from the runtime's by their
/// <c>Status</c> body: 401/403 is a non-retryable <see cref="KubernetesErrorTypes.Forbidden"/> naming the missing
/// permission; 503 (no ready endpoints yet) is returned with the Status message as its reason phrase, so a
/// caller waits on it like any other not-ready answer.
/// </summary>
internal sealed class ApiServerProxyHandler(k8s.Kubernetes client, string ns, string service, TimeSpan timeout, TimeProvider time) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        HttpResponseMessage response;
        try
        {
            if (client.Credentials is { } credentials)
            {
                await credentials.ProcessHttpRequestAsync(request, linked.Token);
            }

            // Buffered: answers of health and model-list paths are small, and the timeout then covers the body too.
            response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException(
                $"The API server's proxy to service {ns}/{service} did not answer {request.RequestUri?.AbsolutePath} within {timeout.TotalSeconds:0.###} s ({KubernetesShimletOptions.SectionName}:ProxyRequestTimeout).", e);
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.ServiceUnavailable
            && await ReadApiStatusAsync(response, cancellationToken) is { } status)
        {
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                response.ReasonPhrase = status.Message;
                return response;
            }

            response.Dispose();
            var verb = RbacVerb(request.Method);
            var exception = StepException.NonRetryable(KubernetesErrorTypes.Forbidden,
                $"The Kubernetes API server refused to proxy to service {ns}/{service}: {(int)status.Code.GetValueOrDefault((int)response.StatusCode)} {status.Message} "
                + $"Reaching a runtime from outside the cluster needs the RBAC permission '{verb}' on 'services/proxy' in namespace {ns} "
                + $"(see the RBAC table in docs/shimlets/kubernetes.md), or set {KubernetesShimletOptions.SectionName}:RuntimeAccess=Direct "
                + "when the control plane can reach the service's endpoint itself.");
            exception.Details["statusCode"] = (int)response.StatusCode;
            exception.Details["permission"] = $"services/proxy: {verb}";
            exception.Details["namespace"] = ns;
            exception.Details["service"] = service;
            throw exception;
        }

        return response;
    }

    /// <summary>
    /// The RBAC verb the API server checks for a proxied request of this method: reads (the health check) need <c>get</c>,
    /// the gateway's POSTs <c>create</c>.
    /// </summary>
    internal static string RbacVerb(HttpMethod method) => method.Method switch
    {
        "GET" or "HEAD" or "OPTIONS" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => method.Method.ToLowerInvariant(),
    };

    /// <summary>The API server's own <c>Status</c> answer, or null when the body is the runtime's (or not JSON).</summary>
    private static async Task<V1Status?> ReadApiStatusAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/json")
        {
            return null;
        }

        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = KubernetesJson.Deserialize<V1Status>(text);
            return status is { Kind: "Status", ApiVersion: "v1" } ? status : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
