using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>health-check</c> step: follows the service's status through the shimlet's
/// <see cref="IShimlet.WatchStatusAsync"/> until it runs with an endpoint, then probes the endpoint's health path
/// and (optionally) <c>/v1/models</c>. A status the environment calls terminal (image unavailable, crash loop,
/// unschedulable, …) fails at once instead of waiting out the step's timeout; Pending keeps waiting. The
/// step's timeout bounds the whole wait. Only reads, so it may run again at any time.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Health check",
    Description = "Waits until the service runs and answers its health path and /v1/models; fails at once on a terminal environment status.")]
[Output("endpoint", "string", Description = "The service's base URL.", Kind = OutputKinds.Endpoint)]
[Output("readyReplicas", "integer", Description = "Replicas ready when the check passed.")]
public sealed class HealthCheckActivity(
    IShimletProvider shimlets,
    IHttpClientFactory httpClients,
    IOptions<HealthCheckOptions> options) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.HealthCheck";

    /// <summary>The name of the HTTP client used for probes.</summary>
    public const string HttpClientName = "ModelServeShim.Llm.HealthCheck";

    /// <summary>The route of the last probe, logged when it changes.</summary>
    private string? _route;

    /// <summary>The shimlet name.</summary>
    [Input(Required = true, Description = "The shimlet the service was deployed with.")]
    public string Shimlet { get; set; } = "";

    /// <summary>The service id.</summary>
    [Input(Required = true, Description = "The service id.")]
    public string ServiceId { get; set; } = "";

    /// <summary>The namespace; empty means the shimlet's default.</summary>
    [Input(Description = "Namespace; empty: the shimlet's default.")]
    public string? Namespace { get; set; }

    /// <summary>The health path.</summary>
    [Input(DefaultJson = "\"/health\"", Description = "The runtime's health path (200 when ready).")]
    public string HealthPath { get; set; } = "/health";

    /// <summary>Whether to probe /v1/models.</summary>
    [Input(DefaultJson = "true", Description = "Also require GET /v1/models to answer 200 (and list servedModelName when given).")]
    public bool ProbeModels { get; set; } = true;

    /// <summary>The served model name expected in /v1/models.</summary>
    [Input(Description = "The model id /v1/models must list; empty: any answer is enough.")]
    public string? ServedModelName { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw StepJournal.InvalidInput(context, "serviceId", "the service id is required.");
        }

        if (!HealthPath.StartsWith('/'))
        {
            throw StepJournal.InvalidInput(context, "healthPath", $"'{HealthPath}' must start with '/'.");
        }

        var shimlet = ResourceDeploymentActivity.FindShimlet(context, shimlets, Shimlet);
        var target = new ServiceTarget(ServiceId, string.IsNullOrWhiteSpace(Namespace) ? null : Namespace);
        context.Log(LogLevel.Information, $"Waiting for {ServiceId} to become ready", new Dictionary<string, object?>
        {
            ["shimlet"] = shimlet.Name,
            ["serviceId"] = ServiceId,
            ["namespace"] = target.Namespace,
            ["healthPath"] = HealthPath,
            ["probeModels"] = ProbeModels,
            ["servedModelName"] = ServedModelName,
        });

        var token = context.CancellationToken;
        using var watchCancellation = CancellationTokenSource.CreateLinkedTokenSource(token);
        var statuses = shimlet.WatchStatusAsync(target, context.TimeProvider, watchCancellation.Token).GetAsyncEnumerator(watchCancellation.Token);
        Task<bool>? next = null;
        ShimletStatus? current = null;
        string? lastProbe = null;
        var probeBackoff = new ProbeBackoff(options.Value.ProbeInitialInterval, options.Value.ProbeInterval, options.Value.ProbeBackoffMultiplier);
        try
        {
            next = statuses.MoveNextAsync().AsTask();
            while (true)
            {
                if (current is { Phase: ServicePhase.Running, Endpoint: { } endpoint })
                {
                    var probe = await ProbeAsync(context, shimlet, target, current);
                    if (probe is null)
                    {
                        context.SetOutput("endpoint", endpoint.ToString());
                        context.SetOutput("readyReplicas", current.ReadyReplicas);
                        context.Log(LogLevel.Information, $"{ServiceId} is ready at {endpoint}", new Dictionary<string, object?>
                        {
                            ["endpoint"] = endpoint.ToString(),
                            ["readyReplicas"] = current.ReadyReplicas,
                            ["desiredReplicas"] = current.DesiredReplicas,
                            ["durationMs"] = StepJournal.ElapsedMs(context, started),
                        });
                        return ActivityResult.Done;
                    }

                    if (probe != lastProbe)
                    {
                        context.Log(LogLevel.Information, $"Running, but not answering yet: {probe}", new Dictionary<string, object?> { ["endpoint"] = endpoint.ToString() });
                        lastProbe = probe;
                    }

                    // Probe again after the next backoff wait (50 ms, doubling up to the interval), or sooner if the status changes.
                    var delay = Task.Delay(probeBackoff.Next(), context.TimeProvider, token);
                    if (await Task.WhenAny(next, delay) == delay)
                    {
                        await delay;
                        continue;
                    }
                }

                if (!await next)
                {
                    throw StepJournal.Fail(context, LlmErrorTypes.StatusWatchEnded,
                        $"Shimlet '{shimlet.Name}' stopped reporting the status of {ServiceId} before it became ready (last: {Describe(current)}).",
                        retryable: true, new Dictionary<string, object?> { ["shimlet"] = shimlet.Name });
                }

                var status = statuses.Current;
                next = statuses.MoveNextAsync().AsTask();
                if (status != current)
                {
                    context.Log(LogLevel.Information, $"Status: {Describe(status)}", StatusProperties(status));
                    probeBackoff.Reset();
                }

                current = status;
                Check(context, status);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            context.Log(LogLevel.Warning, $"Stopped waiting for {ServiceId} (timeout or cancel); last status: {Describe(current)}", new Dictionary<string, object?>
            {
                ["lastProbe"] = lastProbe,
                ["durationMs"] = StepJournal.ElapsedMs(context, started),
            });
            throw;
        }
        finally
        {
            // Stop the watch and let its pending read finish before disposing it; its outcome no longer matters.
            await watchCancellation.CancelAsync();
            if (next is not null)
            {
                await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await statuses.DisposeAsync();
        }
    }

    /// <summary>The step error type for a terminal reason.</summary>
    public static string ErrorTypeFor(UnhealthyReason reason) => reason switch
    {
        UnhealthyReason.ImageUnavailable => LlmErrorTypes.ImageUnavailable,
        UnhealthyReason.CrashLoop => LlmErrorTypes.CrashLoop,
        UnhealthyReason.Unschedulable => LlmErrorTypes.Unschedulable,
        UnhealthyReason.InsufficientAccelerators => LlmErrorTypes.InsufficientAccelerators,
        _ => LlmErrorTypes.DeploymentFailed,
    };

    private void Check(ActivityContext context, ShimletStatus status)
    {
        if (status.IsTerminalFailure)
        {
            string what = status.Reason switch
            {
                UnhealthyReason.ImageUnavailable => "its image cannot be pulled",
                UnhealthyReason.CrashLoop => "the runtime keeps crashing",
                UnhealthyReason.Unschedulable => "no node can take it",
                UnhealthyReason.InsufficientAccelerators => "there are not enough free accelerators",
                _ => "the environment reports it failed",
            };
            throw StepJournal.Fail(context, ErrorTypeFor(status.Reason),
                $"{ServiceId} will not become ready: {what} ({status.Phase}, {status.ReadyReplicas}/{status.DesiredReplicas} ready). {status.Message}".TrimEnd(),
                retryable: false, StatusProperties(status));
        }

        if (status.Phase == ServicePhase.Stopped)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ServiceStopped,
                $"{ServiceId} is stopped (scaled to zero or being deleted); it cannot become ready. {status.Message}".TrimEnd(),
                retryable: false, StatusProperties(status));
        }
    }

    /// <summary>
    /// Probes the runtime through the route the shimlet gives (<see cref="IShimlet.GetRuntimeAccessAsync"/>: direct
    /// to the endpoint, or e.g. through the Kubernetes API server); null when ready, else why not (for the journal).
    /// </summary>
    private async Task<string?> ProbeAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target, ShimletStatus status)
    {
        using var probeTimeout = new CancellationTokenSource(options.Value.ProbeTimeout, context.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, probeTimeout.Token);
        try
        {
            var access = await Journaled(context, () => shimlet.GetRuntimeAccessAsync(target, status, httpClients.CreateClient(HttpClientName), linked.Token).AsTask());
            if (access.Route != _route)
            {
                _route = access.Route;
                context.Log(LogLevel.Information, $"Probing {ServiceId} via {access.Route} at {access.BaseAddress}", new Dictionary<string, object?>
                {
                    ["route"] = access.Route,
                    ["baseAddress"] = access.BaseAddress.ToString(),
                    ["endpoint"] = status.Endpoint?.ToString(),
                });
            }

            var health = access.Resolve(HealthPath);
            using (var response = await Journaled(context, () => GetAsync(access, health, linked.Token)))
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return Answered(health, response);
                }
            }

            if (!ProbeModels)
            {
                return null;
            }

            var models = access.Resolve("/v1/models");
            using var modelsResponse = await Journaled(context, () => GetAsync(access, models, linked.Token));
            if (modelsResponse.StatusCode != HttpStatusCode.OK)
            {
                return Answered(models, modelsResponse);
            }

            var ids = await ReadModelIdsAsync(context, models, modelsResponse, linked.Token);
            if (!string.IsNullOrWhiteSpace(ServedModelName) && !ids.Contains(ServedModelName, StringComparer.Ordinal))
            {
                throw StepJournal.Fail(context, LlmErrorTypes.ModelNotServed,
                    $"{models} lists [{string.Join(", ", ids)}], not '{ServedModelName}'. The runtime serves the model under another name; check the runtime profile's served-model-name argument.",
                    retryable: false, new Dictionary<string, object?> { ["served"] = ids, ["expected"] = ServedModelName, ["route"] = access.Route });
            }

            return null;
        }
        catch (HttpRequestException e)
        {
            return $"{e.HttpRequestError}: {e.Message}";
        }
        catch (OperationCanceledException) when (probeTimeout.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            return $"no answer within {options.Value.ProbeTimeout.TotalSeconds:0.###} s";
        }
    }

    /// <summary>
    /// Awaits a call into the shimlet's route; a <see cref="StepException"/> it throws (the route itself failed, e.g. a
    /// missing permission) is journaled with its details before it fails the step unchanged.
    /// </summary>
    private static async Task<T> Journaled<T>(ActivityContext context, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (StepException e)
        {
            var properties = new Dictionary<string, object?>(e.Details) { ["errorType"] = e.ErrorType, ["retryable"] = e.Retryable };
            context.Log(LogLevel.Error, e.Message, properties);
            throw;
        }
    }

    private static async Task<HttpResponseMessage> GetAsync(RuntimeAccess access, Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        return await access.Invoker.SendAsync(request, cancellationToken);
    }

    private static string Answered(Uri url, HttpResponseMessage response) =>
        $"GET {url} answered {(int)response.StatusCode}" + (string.IsNullOrWhiteSpace(response.ReasonPhrase) ? "" : $" {response.ReasonPhrase}");

    private static async Task<List<string>> ReadModelIdsAsync(ActivityContext context, Uri url, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        try
        {
            using var document = await JsonDocument.ParseAsync(body, default, cancellationToken);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("data", out var data)
                && data.ValueKind == JsonValueKind.Array)
            {
                return [.. data.EnumerateArray()
                    .Where(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                    .Select(m => m.GetProperty("id").GetString()!)];
            }
        }
        catch (JsonException)
        {
            // Reported below: not an OpenAI model list.
        }

        throw StepJournal.Fail(context, LlmErrorTypes.InvalidModelsResponse,
            $"{url} answered 200 but not with an OpenAI model list ({{\"data\": [{{\"id\": …}}]}}). Set probeModels to false for runtimes without /v1/models.",
            retryable: false, new Dictionary<string, object?> { ["url"] = url.ToString() });
    }

    private static string Describe(ShimletStatus? status) => status is null
        ? "none yet"
        : $"{status.Phase}, {status.ReadyReplicas}/{status.DesiredReplicas} ready" + (status.Reason == UnhealthyReason.None ? "" : $", {status.Reason}")
          + (status.Endpoint is null ? "" : $", {status.Endpoint}") + (status.Message is null ? "" : $": {status.Message}");

    private static Dictionary<string, object?> StatusProperties(ShimletStatus status) => new()
    {
        ["phase"] = status.Phase.ToString(),
        ["reason"] = status.Reason.ToString(),
        ["readyReplicas"] = status.ReadyReplicas,
        ["desiredReplicas"] = status.DesiredReplicas,
        ["endpoint"] = status.Endpoint?.ToString(),
        ["message"] = status.Message,
    };
}
