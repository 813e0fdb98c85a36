using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Testing.Kubernetes;

/// <summary>
/// A fake kube-apiserver on Kestrel (127.0.0.1, free port) serving pods, services, deployments and statefulsets
/// with the semantics the shimlet relies on: server-side apply with field ownership and 409 conflicts, get,
/// list and watch by label selector (with 410 Expired and dropped connections on demand), delete with
/// propagation, the status and scale subresources, pod logs (with the kubelet's failures on demand: 500 when it is
/// unreachable, 400 for a container that never started), the service proxy (503 "no endpoints available" until a pod
/// of the service is ready, then forwarded to a backend the test registers; 403 when the test denies it) and 429
/// throttling with <c>Retry-After</c>. A <see cref="FakeController"/> plays the controllers, the scheduler and the kubelet.
/// </summary>
public sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _watches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _throttled = new(StringComparer.Ordinal);
    private readonly HttpClient _proxyClient = new();
    private int _goneOnNextWatches;

    private FakeKubeApiServer(WebApplication app, TimeProvider time)
    {
        _app = app;
        Store = new FakeStore(time);
        Controller = new FakeController(Store, time);
    }

    public FakeStore Store { get; }

    public FakeController Controller { get; }

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Every request as "METHOD path?query content-type".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The propagation policy of each DELETE, by "plural/name".</summary>
    public ConcurrentDictionary<string, string> DeletePropagation { get; } = new(StringComparer.Ordinal);

    /// <summary>Paged lists (with <c>limit</c>), which is how the shimlet's watches list; plain status reads do not page.</summary>
    public int ListCount(string plural) => _lists.GetValueOrDefault(plural);

    public int WatchCount(string plural) => _watches.GetValueOrDefault(plural);

    /// <summary>Where the service proxy forwards requests for a service (by namespace and name): a real listener of the test.</summary>
    public ConcurrentDictionary<(string Namespace, string Service), Uri> ProxyBackends { get; } = new();

    /// <summary>The verbs on <c>services/proxy</c> the caller holds (the Role of docs/shimlets/kubernetes.md: get, create); a request needing another is answered 403.</summary>
    public HashSet<string> ServiceProxyVerbs { get; } = new(StringComparer.Ordinal) { "get", "create" };

    /// <summary>When set, the caller lacks <c>get</c> on <c>services/proxy</c>: every proxy request is answered 403.</summary>
    public bool DenyServiceProxy { get; set; }

    /// <summary>
    /// When set, the service's endpoints lag behind its pods (the endpoint slice controller has not caught up): the
    /// proxy answers 503 "no endpoints available" even once pods are ready.
    /// </summary>
    public bool HoldServiceEndpoints { get; set; }

    /// <summary>How pods/log requests fail, if they do.</summary>
    public PodLogFailure PodLogFailure { get; set; }

    /// <summary>The next <paramref name="count"/> plain (non-watch) lists of <paramref name="plural"/> answer 429 with <c>Retry-After: 1</c>.</summary>
    public void ThrottleNextLists(string plural, int count) => _throttled[plural] = count;

    /// <summary>How many throttled answers are still to come for <paramref name="plural"/>.</summary>
    public int ThrottlesLeft(string plural) => _throttled.GetValueOrDefault(plural);

    /// <summary>The next <paramref name="count"/> watch requests fail with HTTP 410 Gone.</summary>
    public void FailNextWatchesWithGone(int count) => Interlocked.Exchange(ref _goneOnNextWatches, count);

    public static async Task<FakeKubeApiServer> StartAsync(TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeKubeApiServer(app, time ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.BaseUri = new Uri(app.Urls.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await Controller.DisposeAsync();
        _proxyClient.Dispose();
        Store.DropWatchConnections();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        Requests.Enqueue($"{request.Method} {request.Path}{request.QueryString} {request.ContentType}");
        var segments = request.Path.Value!.Trim('/').Split('/');
        string group;
        string[] rest;
        if (segments is ["api", "v1", .. var coreRest])
        {
            (group, rest) = (string.Empty, coreRest);
        }
        else if (segments is ["apis", var g, "v1", .. var groupRest])
        {
            (group, rest) = (g, groupRest);
        }
        else
        {
            await WriteJsonAsync(context, 404, FakeStatus.Create(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        if (group.Length == 0 && rest is ["namespaces", var proxyNs, "services", var nameAndPort, "proxy", .. var proxyPath])
        {
            await ProxyAsync(context, proxyNs, nameAndPort, string.Join('/', proxyPath));
            return;
        }

        if (rest is not ["namespaces", var ns, var plural, .. var item] || item.Length > 2
            || FakeResource.All.FirstOrDefault(r => r.Group == group && r.Plural == plural) is not { } resource)
        {
            await WriteJsonAsync(context, 404, FakeStatus.Create(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        var name = item.Length > 0 ? item[0] : null;
        var sub = item.Length > 1 ? item[1] : null;
        var task = (request.Method, name, sub) switch
        {
            ("GET", null, _) when IsTrue(request.Query["watch"]) => WatchAsync(context, resource, ns),
            ("GET", null, _) when TakeThrottle(resource.Plural) => WriteTooManyRequestsAsync(context),
            ("GET", null, _) => ListAsync(context, resource, ns),
            ("GET", not null, null or "status") => GetAsync(context, resource, ns, name),
            ("GET", not null, "scale") when resource.IsWorkload => GetScaleAsync(context, resource, ns, name),
            ("GET", not null, "log") when resource == FakeResource.Pods => LogAsync(context, ns, name),
            ("PATCH", not null, null) => ApplyAsync(context, resource, ns, name),
            ("PATCH", not null, "scale") when resource.IsWorkload => PatchScaleAsync(context, resource, ns, name),
            ("PATCH", not null, "status") => PatchStatusAsync(context, resource, ns, name),
            ("DELETE", not null, null) => DeleteAsync(context, resource, ns, name),
            _ => WriteJsonAsync(context, 405, FakeStatus.Create(405, "MethodNotAllowed", $"{request.Method} is not supported on {request.Path}")),
        };
        await task;
    }

    private async Task ListAsync(HttpContext context, FakeResource resource, string ns)
    {
        if (context.Request.Query.ContainsKey("limit"))
        {
            _lists.AddOrUpdate(resource.Plural, 1, (_, n) => n + 1);
        }

        var (items, version) = Store.List(resource, ns, LabelSelector.Parse(context.Request.Query["labelSelector"]));
        var list = new JsonObject
        {
            ["kind"] = resource.Kind + "List",
            ["apiVersion"] = resource.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
            ["items"] = new JsonArray([.. items]),
        };
        await WriteJsonAsync(context, 200, list);
    }

    private async Task WatchAsync(HttpContext context, FakeResource resource, string ns)
    {
        _watches.AddOrUpdate(resource.Plural, 1, (_, n) => n + 1);
        if (Interlocked.Decrement(ref _goneOnNextWatches) >= 0)
        {
            await WriteJsonAsync(context, 410, FakeStatus.Create(410, "Gone", "too old resource version"));
            return;
        }

        Interlocked.Exchange(ref _goneOnNextWatches, 0);
        long? from = long.TryParse(context.Request.Query["resourceVersion"], CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        var subscription = Store.Watch(resource, ns, LabelSelector.Parse(context.Request.Query["labelSelector"]), from);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        if (subscription is null)
        {
            var expired = FakeStatus.Create(410, "Expired", $"too old resource version: {from} ({Store.CurrentResourceVersion})");
            await WriteLineAsync(context, new JsonObject { ["type"] = "ERROR", ["object"] = expired });
            return;
        }

        using var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds))
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, subscription.Drop.Token, timeout.Token);
        try
        {
            await context.Response.StartAsync(linked.Token);
            await context.Response.Body.FlushAsync(linked.Token);
            await foreach (var e in subscription.Events.Reader.ReadAllAsync(linked.Token))
            {
                await WriteLineAsync(context, e);
            }
        }
        catch (OperationCanceledException) when (subscription.Drop.IsCancellationRequested)
        {
            context.Abort();
        }
        catch (OperationCanceledException)
        {
            // The watch timed out or the client went away: end the response.
        }
        finally
        {
            Store.Unwatch(subscription);
        }
    }

    private async Task GetAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        var obj = Store.Get(resource, ns, name);
        await WriteJsonAsync(context, obj is null ? 404 : 200, obj ?? FakeStatus.NotFound(resource, name));
    }

    private async Task GetScaleAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        var obj = Store.Get(resource, ns, name);
        await WriteJsonAsync(context, obj is null ? 404 : 200, obj is null ? FakeStatus.NotFound(resource, name) : ScaleOf(obj));
    }

    private async Task ApplyAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        var contentType = context.Request.ContentType ?? string.Empty;
        if (!contentType.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal))
        {
            await WriteJsonAsync(context, 415, FakeStatus.Create(415, "UnsupportedMediaType", $"the fake supports only server-side apply on {resource.Plural}, not {contentType}"));
            return;
        }

        var manager = context.Request.Query["fieldManager"].ToString();
        if (manager.Length == 0)
        {
            await WriteJsonAsync(context, 400, FakeStatus.Create(400, "BadRequest", "PATCH, application/apply-patch+yaml requests must have a fieldManager"));
            return;
        }

        if (await ReadBodyAsync(context) is not JsonObject body)
        {
            await WriteJsonAsync(context, 400, FakeStatus.Create(400, "BadRequest", "the fake accepts apply bodies as JSON (a subset of YAML) only"));
            return;
        }

        var result = Store.Apply(resource, ns, name, body, manager, IsTrue(context.Request.Query["force"]));
        await WriteJsonAsync(context, result.StatusCode, result.Body);
    }

    private async Task PatchScaleAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        if (!(context.Request.ContentType ?? string.Empty).StartsWith("application/merge-patch+json", StringComparison.Ordinal))
        {
            await WriteJsonAsync(context, 415, FakeStatus.Create(415, "UnsupportedMediaType", "the fake supports merge patches of the scale subresource only"));
            return;
        }

        var body = await ReadBodyAsync(context) as JsonObject;
        if (body?["spec"]?["replicas"] is not JsonValue replicas)
        {
            await WriteJsonAsync(context, 422, FakeStatus.Create(422, "Invalid", "spec.replicas is required"));
            return;
        }

        var fields = new Dictionary<string, JsonNode?> { [$"spec{FakeStore.PathSeparator}replicas"] = replicas.DeepClone() };
        var manager = context.Request.Query["fieldManager"].ToString();
        var result = Store.UpdateFields(resource, ns, name, fields, manager.Length > 0 ? manager : "unknown", "scale");
        await WriteJsonAsync(context, result.StatusCode, result.StatusCode == 200 ? ScaleOf(result.Body) : result.Body);
    }

    private async Task PatchStatusAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        var body = await ReadBodyAsync(context) as JsonObject;
        var existing = Store.Get(resource, ns, name);
        if (existing is null)
        {
            await WriteJsonAsync(context, 404, FakeStatus.NotFound(resource, name));
            return;
        }

        var status = (existing["status"] as JsonObject)?.DeepClone().AsObject() ?? [];
        foreach (var (key, value) in body?["status"] as JsonObject ?? [])
        {
            status[key] = value?.DeepClone();
        }

        await WriteJsonAsync(context, 200, Store.SetStatus(resource, ns, name, status)!);
    }

    private async Task DeleteAsync(HttpContext context, FakeResource resource, string ns, string name)
    {
        var body = await ReadBodyAsync(context) as JsonObject;
        var policy = context.Request.Query["propagationPolicy"].ToString() is { Length: > 0 } fromQuery
            ? fromQuery
            : body?["propagationPolicy"]?.GetValue<string>() ?? "Background";
        DeletePropagation[$"{resource.Plural}/{name}"] = policy;
        if (Store.Delete(resource, ns, name, policy) is not { } outcome)
        {
            await WriteJsonAsync(context, 404, FakeStatus.NotFound(resource, name));
            return;
        }

        var (deleted, pending) = outcome;

        if (pending)
        {
            // Foreground: the object stays, marked, until the garbage collector has removed its dependents.
            _ = Task.Run(async () =>
            {
                await Task.Delay(30);
                Store.FinishForegroundDeletion(resource, ns, name);
            });
            await WriteJsonAsync(context, 200, deleted);
            return;
        }

        if (resource == FakeResource.Pods || resource == FakeResource.Services)
        {
            // Like the real registries of pods and services (ReturnDeletedObject), answer with the object.
            await WriteJsonAsync(context, 200, deleted);
            return;
        }

        var status = FakeStatus.Create(200, string.Empty, string.Empty);
        status.Remove("reason");
        status.Remove("message");
        status["details"] = new JsonObject { ["name"] = name, ["group"] = resource.Group, ["kind"] = resource.Plural, ["uid"] = deleted["metadata"]!["uid"]!.DeepClone() };
        await WriteJsonAsync(context, 200, status);
    }

    private async Task LogAsync(HttpContext context, string ns, string name)
    {
        var pod = Store.Get(FakeResource.Pods, ns, name);
        if (pod is null)
        {
            await WriteJsonAsync(context, 404, FakeStatus.NotFound(FakeResource.Pods, name));
            return;
        }

        var container = context.Request.Query["container"].ToString();
        switch (PodLogFailure)
        {
            case PodLogFailure.KubeletUnreachable:
                // What the API server answers when it cannot reach the kubelet of the pod's node.
                await WriteJsonAsync(context, 500, FakeStatus.Create(500, "InternalError",
                    $"Get \"https://10.0.0.5:10250/containerLogs/{ns}/{name}/{container}\": dial tcp 10.0.0.5:10250: connect: connection refused"));
                return;
            case PodLogFailure.ContainerNotStarted:
                await WriteJsonAsync(context, 400, FakeStatus.Create(400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"));
                return;
            case PodLogFailure.NoAnswer:
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up.
                }

                return;
            default:
                break;
        }

        var containers = pod["spec"]?["containers"]?.AsArray().Select(c => c?["name"]?.GetValue<string>()).ToList() ?? [];
        if (container.Length > 0 && !containers.Contains(container))
        {
            await WriteJsonAsync(context, 400, FakeStatus.Create(400, "BadRequest", $"container {container} is not valid for pod {name}"));
            return;
        }

        if (!Controller.Logs.TryGetValue((ns, name), out var log))
        {
            var waiting = pod["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"]?.GetValue<string>() ?? "ContainerCreating";
            await WriteJsonAsync(context, 400, FakeStatus.Create(400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: {waiting}"));
            return;
        }

        List<(DateTimeOffset Time, string Line)> lines;
        lock (log)
        {
            lines = [.. log];
        }

        if (int.TryParse(context.Request.Query["tailLines"], CultureInfo.InvariantCulture, out var tail) && tail >= 0)
        {
            lines = [.. lines.TakeLast(tail)];
        }

        var timestamps = IsTrue(context.Request.Query["timestamps"]);
        var text = new StringBuilder();
        foreach (var (time, line) in lines)
        {
            text.Append(timestamps ? time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture) + " " : string.Empty).Append(line).Append('\n');
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(text.ToString());
    }

    /// <summary>
    /// <c>/api/v1/namespaces/{ns}/services/{name}[:{port}]/proxy/{path}</c> (any method), as the API server answers it: 403
    /// without the permission, 404 for a missing service or port, 503 "no endpoints available" while no pod of the
    /// service is ready, else the backend's answer (status, content type and body).
    /// </summary>
    private async Task ProxyAsync(HttpContext context, string ns, string nameAndPort, string path)
    {
        var colon = nameAndPort.IndexOf(':', StringComparison.Ordinal);
        var (name, port) = colon < 0 ? (nameAndPort, null) : (nameAndPort[..colon], nameAndPort[(colon + 1)..]);
        // The API server authorizes a proxied request by the verb of its method: GET is get, POST is create, ….
        var verb = context.Request.Method switch { "GET" or "HEAD" => "get", "POST" => "create", "PUT" => "update", "PATCH" => "patch", "DELETE" => "delete", var m => m.ToLowerInvariant() };
        if (DenyServiceProxy || !ServiceProxyVerbs.Contains(verb))
        {
            var forbidden = FakeStatus.Create(403, "Forbidden",
                $"services \"{name}\" is forbidden: User \"system:serviceaccount:default:model-serve-shim\" cannot {verb} resource \"services/proxy\" in API group \"\" in the namespace \"{ns}\"");
            forbidden["details"] = new JsonObject { ["name"] = name, ["kind"] = "services" };
            await WriteJsonAsync(context, 403, forbidden);
            return;
        }

        var service = Store.Get(FakeResource.Services, ns, name);
        if (service is null)
        {
            await WriteJsonAsync(context, 404, FakeStatus.NotFound(FakeResource.Services, name));
            return;
        }

        var ports = service["spec"]?["ports"]?.AsArray() ?? [];
        if (port is not null && !ports.Any(p => p?["name"]?.GetValue<string>() == port || p?["port"]?.ToJsonString() == port))
        {
            await WriteJsonAsync(context, 503, FakeStatus.Create(503, "ServiceUnavailable", $"no endpoints available for service \"{nameAndPort}\""));
            return;
        }

        var selector = service["spec"]?["selector"] as JsonObject ?? [];
        var podSelector = LabelSelector.Parse(string.Join(",", selector.Select(l => $"{l.Key}={l.Value?.GetValue<string>()}")));
        var ready = selector.Count > 0 && Store.List(FakeResource.Pods, ns, podSelector).Items.Any(p =>
            p["metadata"]?["deletionTimestamp"] is null
            && (p["status"]?["conditions"]?.AsArray() ?? []).Any(c => c?["type"]?.GetValue<string>() == "Ready" && c?["status"]?.GetValue<string>() == "True"));
        if (!ready || HoldServiceEndpoints)
        {
            await WriteJsonAsync(context, 503, FakeStatus.Create(503, "ServiceUnavailable", $"no endpoints available for service \"{name}\""));
            return;
        }

        if (!ProxyBackends.TryGetValue((ns, name), out var backend))
        {
            await WriteJsonAsync(context, 503, FakeStatus.Create(503, "ServiceUnavailable",
                $"error trying to reach service: dial tcp 10.244.0.17:{port ?? "80"}: connect: connection refused"));
            return;
        }

        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(backend, path + context.Request.QueryString));
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            forward.Content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } requestType)
            {
                forward.Content.Headers.TryAddWithoutValidation("Content-Type", requestType);
            }
        }

        using var answer = await _proxyClient.SendAsync(forward, context.RequestAborted);
        context.Response.StatusCode = (int)answer.StatusCode;
        if (answer.Content.Headers.ContentType is { } contentType)
        {
            context.Response.ContentType = contentType.ToString();
        }

        await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private bool TakeThrottle(string plural)
    {
        var taken = false;
        _throttled.AddOrUpdate(plural, 0, (_, n) =>
        {
            taken = n > 0;
            return Math.Max(0, n - 1);
        });
        return taken;
    }

    private static async Task WriteTooManyRequestsAsync(HttpContext context)
    {
        // API priority and fairness rejects with 429 and asks the client to come back after Retry-After seconds.
        context.Response.Headers.RetryAfter = "1";
        var status = FakeStatus.Create(429, "TooManyRequests", "Too many requests, please try again later.");
        status["details"] = new JsonObject { ["retryAfterSeconds"] = 1 };
        await WriteJsonAsync(context, 429, status);
    }

    private static JsonObject ScaleOf(JsonObject obj)
    {
        var selector = obj["spec"]?["selector"]?["matchLabels"] as JsonObject;
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = obj["metadata"]!["name"]!.DeepClone(),
                ["namespace"] = obj["metadata"]!["namespace"]!.DeepClone(),
                ["uid"] = obj["metadata"]!["uid"]!.DeepClone(),
                ["resourceVersion"] = obj["metadata"]!["resourceVersion"]!.DeepClone(),
                ["creationTimestamp"] = obj["metadata"]!["creationTimestamp"]!.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = obj["spec"]?["replicas"]?.DeepClone() ?? 1 },
            ["status"] = new JsonObject
            {
                ["replicas"] = obj["status"]?["replicas"]?.DeepClone() ?? 0,
                ["selector"] = string.Join(",", (selector ?? []).Select(l => $"{l.Key}={l.Value}")),
            },
        };
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? value) => value is "true" or "1" or "True";

    private static async Task WriteJsonAsync(HttpContext context, int statusCode, JsonObject body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static async Task WriteLineAsync(HttpContext context, JsonObject line)
    {
        await context.Response.WriteAsync(line.ToJsonString() + "\n");
        await context.Response.Body.FlushAsync();
    }
}

/// <summary>How the fake's pods/log requests fail.</summary>
public enum PodLogFailure
{
    /// <summary>Logs are served normally.</summary>
    None,

    /// <summary>500: the API server cannot reach the kubelet of the pod's node.</summary>
    KubeletUnreachable,

    /// <summary>400: the container never started ("is waiting to start: ContainerCreating").</summary>
    ContainerNotStarted,

    /// <summary>The request is accepted and never answered (a hung kubelet connection).</summary>
    NoAnswer,
}
