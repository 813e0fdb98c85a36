using ModelServeShim.Abstractions.Activities;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelServeShim.Security;
using Yarp.ReverseProxy.Forwarder;

namespace ModelServeShim.Gateway;

/// <summary>
/// Forwards one OpenAI request to a replica of the service its <c>model</c> names, with YARP's
/// <see cref="IHttpForwarder"/>: the body is read once (size-limited) to find <c>model</c> and sent from memory, the
/// answer is copied back as it comes (server-sent events unbuffered) and a client that goes away cancels the runtime's
/// request. A replica that refuses the connection is left out for a while and the request goes to another one.
/// Nothing of a request or an answer is logged but its route, status and size.
/// </summary>
public sealed class GatewayForwarder(
    IHttpForwarder forwarder,
    GatewayRouteTable routes,
    GatewayUsage usage,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<GatewayForwarder> logger)
{
    private static readonly HttpTransformer Transformer = new RuntimeRequestTransformer();

    private readonly ForwarderRequestConfig _config = new()
    {
        ActivityTimeout = options.Value.ActivityTimeout,
        AllowResponseBuffering = false,
    };

    /// <summary>Forwards the request, or answers with an OpenAI-shaped error; records the request's metrics either way.</summary>
    /// <param name="context">The client's request.</param>
    /// <param name="api">The API's name for metrics and logs (<c>chat/completions</c>, <c>completions</c>, <c>embeddings</c>).</param>
    public async Task<Results<EmptyHttpResult, JsonHttpResult<OpenAiErrorResponse>>> ForwardAsync(HttpContext context, string api)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = time.GetTimestamp();
        var forward = new Forward(context, api, started);
        Results<EmptyHttpResult, JsonHttpResult<OpenAiErrorResponse>> result;
        var completed = false;
        try
        {
            result = await ForwardCoreAsync(forward);
            completed = true;
        }
        finally
        {
            // 499 (nginx's "client closed request") when the client went away; 500 when the gateway itself threw.
            var status = context.RequestAborted.IsCancellationRequested ? 499
                : !completed ? StatusCodes.Status500InternalServerError
                : context.Response.StatusCode;
            if (forward.Error is { } error)
            {
                status = error.StatusCode ?? StatusCodes.Status500InternalServerError;
            }

            var elapsed = time.GetElapsedTime(started);
            GatewayMetrics.Request(forward.Route, api, status, elapsed);
            if (forward.Route is { } route)
            {
                usage.Record(route.ServiceId, status, elapsed, forward.Usage);
            }
        }

        return result;
    }

    private async Task<Results<EmptyHttpResult, JsonHttpResult<OpenAiErrorResponse>>> ForwardCoreAsync(Forward forward)
    {
        var context = forward.Context;
        var cancellationToken = context.RequestAborted;
        var (request, refusal) = await GatewayRequest.ReadAsync(context.Request, options.Value.MaxRequestBodyBytes, cancellationToken);
        if (request is null)
        {
            return refusal switch
            {
                GatewayRequest.Refusal.TooLarge => forward.Fail(StatusCodes.Status413PayloadTooLarge, OpenAiErrors.Types.InvalidRequest, OpenAiErrors.Codes.RequestTooLarge, null,
                    $"The request body is larger than {options.Value.MaxRequestBodyBytes} bytes (setting Gateway:MaxRequestBodyBytes)."),
                GatewayRequest.Refusal.ModelNotString => forward.Fail(StatusCodes.Status400BadRequest, OpenAiErrors.Types.InvalidRequest, null, "model",
                    "'model' must be a string: a deployed model's name or its service id."),
                _ => forward.Fail(StatusCodes.Status400BadRequest, OpenAiErrors.Types.InvalidRequest, OpenAiErrors.Codes.InvalidJson, null,
                    "The request body must be a JSON object."),
            };
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            return forward.Fail(StatusCodes.Status400BadRequest, OpenAiErrors.Types.InvalidRequest, OpenAiErrors.Codes.MissingModel, "model",
                "You must provide a model parameter: a deployed model's name (GET /v1/models lists them) or its service id.");
        }

        var found = await routes.FindAsync(request.Model, cancellationToken);
        if (found is not { IsGone: false } route)
        {
            var served = (await routes.ServedModelNamesAsync(cancellationToken)).Where(m => ModelAccess.Allows(context.User, m)).ToList();
            var why = found is { } gone ? $" (service '{gone.ServiceId}' is {gone.State}; redeploy it)" : "";
            return forward.Fail(StatusCodes.Status404NotFound, OpenAiErrors.Types.InvalidRequest, OpenAiErrors.Codes.ModelNotFound, "model",
                $"The model '{request.Model}' does not exist{why}. Served models: {(served.Count == 0 ? "none" : string.Join(", ", served))}.");
        }

        if (!ModelAccess.Allows(context.User, route.ModelName))
        {
            return forward.Fail(StatusCodes.Status403Forbidden, OpenAiErrors.Types.Permission, OpenAiErrors.Codes.ModelNotAllowed, "model",
                $"Your API key may not use the model '{route.ModelName}'; ask an admin for a key whose Models include it.");
        }

        forward.Route = route;
        if (!route.IsServing)
        {
            return NotReady(forward, route, options.Value.RetryAfter, $"The model '{route.ModelName}' is not ready: its service is {route.State}.");
        }

        var replicas = await routes.ReplicasAsync(route, cancellationToken);
        if (replicas.Count == 0)
        {
            return NotReady(forward, route, options.Value.RetryAfter, $"The model '{route.ModelName}' has no ready replica (its service is {route.State}; it may be starting or scaled to zero).");
        }

        if (request.Model != route.ModelName)
        {
            // Named by service id: the runtime serves the model under its model name.
            request = request.WithModel(route.ModelName);
        }

        // The body is in memory now: it goes on with its length, never chunked.
        context.Request.Headers.Remove("Transfer-Encoding");
        context.Request.ContentLength = request.Length;

        var observer = UsageObservingStream.Attach(context, time);
        Replica? failed = null;
        var unreachable = false;
        // One attempt per replica, and one more for a request lost on a reused connection the runtime had closed.
        for (var attempt = 0; attempt <= replicas.Count; attempt++)
        {
            var replica = routes.Pick(route.ServiceId, replicas, failed);
            if (replica is null)
            {
                break;
            }

            context.Request.Body = request.OpenBody();
            replica.Enter();
            GatewayMetrics.Entered(route, replica);
            ForwarderError error;
            try
            {
                error = await forwarder.SendAsync(context, replica.Access.BaseAddress.ToString(), replica.Access.Invoker, _config, Transformer);
            }
            finally
            {
                replica.Leave();
                GatewayMetrics.Left(route, replica);
            }

            if (error == ForwarderError.None)
            {
                if (context.Response.StatusCode is StatusCodes.Status502BadGateway or StatusCodes.Status504GatewayTimeout)
                {
                    LeaveOut(route, replica, $"answered {context.Response.StatusCode}");
                }

                Observed(forward, route, observer);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug("Gateway {Api}: model {Model} → service {Service} replica {Replica} ({Route}): {Status} in {ElapsedMs:F1} ms",
                        forward.Api, route.ModelName, route.ServiceId, replica.Key, replica.Access.Route, context.Response.StatusCode, time.GetElapsedTime(forward.Started).TotalMilliseconds);
                }

                return TypedResults.Empty;
            }

            var exception = context.GetForwarderErrorFeature()?.Exception;
            if ((exception as StepException ?? exception?.InnerException as StepException) is { Retryable: false } refused && !context.Response.HasStarted)
            {
                // The route itself refused (the shimlet's invoker said so: a missing permission, …): every replica would say the
                // same, and the caller needs the reason, not "unreachable".
                logger.LogWarning("Gateway {Api}: the route to service {Service} ({Route}) refused the request: {ErrorType} {Message}",
                    forward.Api, route.ServiceId, replica.Access.Route, refused.ErrorType, refused.Message);
                context.Response.Clear();
                return forward.Fail(StatusCodes.Status502BadGateway, OpenAiErrors.Types.Server, OpenAiErrors.Codes.RuntimeRouteRefused, null,
                    $"The control plane cannot reach model '{route.ModelName}': {refused.Message}");
            }

            var down = error == ForwarderError.RequestTimedOut || (error == ForwarderError.Request && IsConnectFailure(exception));
            if (down)
            {
                LeaveOut(route, replica, $"{error}: {exception?.Message}");
            }

            if (error == ForwarderError.Request && !context.Response.HasStarted && !cancellationToken.IsCancellationRequested)
            {
                // Nothing reached the client: try again with the same body, on another replica when this one is down.
                logger.LogDebug("Gateway {Api}: retrying a request to service {Service} that failed at replica {Replica}: {Message}", forward.Api, route.ServiceId, replica.Key, exception?.Message);
                context.Response.Clear();
                context.Features.Set<IForwarderErrorFeature>(null);
                failed = down ? replica : null;
                unreachable = true;
                continue;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                logger.LogDebug("Gateway {Api}: the client of service {Service} went away ({Error})", forward.Api, route.ServiceId, error);
                return TypedResults.Empty;
            }

            logger.LogWarning("Gateway {Api}: forwarding to service {Service} replica {Replica} ({Route}) failed: {Error} {Message}",
                forward.Api, route.ServiceId, replica.Key, replica.Access.Route, error, exception?.Message);
            if (context.Response.HasStarted)
            {
                return TypedResults.Empty;
            }

            context.Response.Clear();
            return forward.Fail(StatusCodes.Status502BadGateway, OpenAiErrors.Types.Server, OpenAiErrors.Codes.RuntimeUnreachable, null,
                $"The runtime of model '{route.ModelName}' failed to answer ({error}).");
        }

        if (unreachable)
        {
            return forward.Fail(StatusCodes.Status502BadGateway, OpenAiErrors.Types.Server, OpenAiErrors.Codes.RuntimeUnreachable, null,
                $"No replica of model '{route.ModelName}' could be reached; they are left out for {options.Value.ReplicaCooldown.TotalSeconds:0.#} s and tried again after.");
        }

        var back = replicas.Min(r => r.OutUntil) - time.GetUtcNow();
        return NotReady(forward, route, back > TimeSpan.Zero ? back : options.Value.RetryAfter,
            $"Every replica of model '{route.ModelName}' failed recently and is left out for a moment.");
    }

    private JsonHttpResult<OpenAiErrorResponse> NotReady(Forward forward, ServiceRoute route, TimeSpan retryAfter, string message)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        forward.Context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        logger.LogDebug("Gateway {Api}: service {Service} is {State}, not ready (Retry-After {Seconds} s)", forward.Api, route.ServiceId, route.State, seconds);
        return forward.Fail(StatusCodes.Status503ServiceUnavailable, OpenAiErrors.Types.Server, OpenAiErrors.Codes.ModelNotReady, "model", $"{message} Retry after {seconds} s.");
    }

    /// <summary>The runtime could not be connected to (refused, unreachable, not resolved), as opposed to a connection lost on the way.</summary>
    private static bool IsConnectFailure(Exception? exception) =>
        exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }
        || exception?.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };

    private void LeaveOut(ServiceRoute route, Replica replica, string why)
    {
        routes.ReportFailure(route.ServiceId, replica);
        GatewayMetrics.Failed(route, replica);
        logger.LogWarning("Gateway: replica {Replica} of service {Service} left out for {Cooldown}: {Reason}", replica.Key, route.ServiceId, options.Value.ReplicaCooldown, why);
    }

    private void Observed(Forward forward, ServiceRoute route, UsageObservingStream observer)
    {
        if (observer.FirstEventAt is { } first)
        {
            GatewayMetrics.FirstToken(route, forward.Api, time.GetElapsedTime(forward.Started, first));
        }

        if (observer.Usage is { } tokens)
        {
            forward.Usage = tokens;
            GatewayMetrics.Tokens(route, tokens);
        }
    }

    /// <summary>One request on its way.</summary>
    private sealed class Forward(HttpContext context, string api, long started)
    {
        public HttpContext Context => context;

        public string Api => api;

        public long Started => started;

        public ServiceRoute? Route { get; set; }

        public TokenUsage? Usage { get; set; }

        public JsonHttpResult<OpenAiErrorResponse>? Error { get; private set; }

        public JsonHttpResult<OpenAiErrorResponse> Fail(int status, string type, string? code, string? param, string message) =>
            Error = OpenAiErrors.Result(status, type, code, param, message);
    }

    /// <summary>
    /// YARP's default request transform (headers copied) with the destination's Host, less the caller's credentials: the
    /// control plane's API key is never sent to a runtime (a route through an API server adds its own).
    /// </summary>
    private sealed class RuntimeRequestTransformer : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            // The runtime's (or the API server's) own host, not the gateway's.
            proxyRequest.Headers.Host = null;
            proxyRequest.Headers.Authorization = null;
            proxyRequest.Headers.Remove(ApiKeyAuthenticationHandler.ApiKeyHeader);
            proxyRequest.Headers.Remove("Cookie");
        }
    }
}
