using Prometheus;

namespace ModelServeShim.Gateway;

/// <summary>
/// The gateway's Prometheus metrics (docs/metrics.md), labelled by service id and model name. Requests whose
/// <c>model</c> names no service count under empty labels: a client's arbitrary strings never become label values.
/// </summary>
public static class GatewayMetrics
{
    private static readonly Counter Requests = Metrics.CreateCounter(
        "modserv_gateway_requests_total", "Requests to the OpenAI-compatible gateway, by service, model, API (chat/completions, completions, embeddings, models) and HTTP status.",
        new CounterConfiguration { LabelNames = ["service", "model", "api", "status"] });

    private static readonly Histogram Duration = Metrics.CreateHistogram(
        "modserv_gateway_request_duration_seconds", "Gateway request duration, from the request to the last byte of the answer, by service, model and API.",
        new HistogramConfiguration { LabelNames = ["service", "model", "api"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 16) });

    private static readonly Histogram TimeToFirstToken = Metrics.CreateHistogram(
        "modserv_gateway_time_to_first_token_seconds", "Streamed answers: time from the request to the first server-sent event, by service, model and API.",
        new HistogramConfiguration { LabelNames = ["service", "model", "api"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    private static readonly Counter PromptTokens = Metrics.CreateCounter(
        "modserv_gateway_prompt_tokens_total", "Prompt tokens the runtimes reported in their usage, by service and model.",
        new CounterConfiguration { LabelNames = ["service", "model"] });

    private static readonly Counter CompletionTokens = Metrics.CreateCounter(
        "modserv_gateway_completion_tokens_total", "Completion tokens the runtimes reported in their usage, by service and model.",
        new CounterConfiguration { LabelNames = ["service", "model"] });

    private static readonly Gauge InFlight = Metrics.CreateGauge(
        "modserv_gateway_in_flight_requests", "Requests forwarded to a replica and not yet answered, by service and replica (host:port).",
        new GaugeConfiguration { LabelNames = ["service", "replica"] });

    private static readonly Counter ReplicaRequests = Metrics.CreateCounter(
        "modserv_gateway_replica_requests_total", "Forwards to each replica (a retried request counts at every replica it tried), by service and replica.",
        new CounterConfiguration { LabelNames = ["service", "replica"] });

    private static readonly Counter ReplicaFailures = Metrics.CreateCounter(
        "modserv_gateway_replica_failures_total", "Forwards that failed at a replica (refused, timed out, 502/504) and left it out for the cooldown.",
        new CounterConfiguration { LabelNames = ["service", "replica"] });

    internal static void Request(ServiceRoute? route, string api, int status, TimeSpan duration)
    {
        var (service, model) = Labels(route);
        Requests.WithLabels(service, model, api, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        Duration.WithLabels(service, model, api).Observe(duration.TotalSeconds);
    }

    internal static void FirstToken(ServiceRoute route, string api, TimeSpan elapsed) =>
        TimeToFirstToken.WithLabels(route.ServiceId, route.ModelName, api).Observe(elapsed.TotalSeconds);

    internal static void Tokens(ServiceRoute route, TokenUsage usage)
    {
        PromptTokens.WithLabels(route.ServiceId, route.ModelName).Inc(usage.PromptTokens);
        CompletionTokens.WithLabels(route.ServiceId, route.ModelName).Inc(usage.CompletionTokens);
    }

    internal static void Entered(ServiceRoute route, Replica replica)
    {
        ReplicaRequests.WithLabels(route.ServiceId, replica.Key).Inc();
        InFlight.WithLabels(route.ServiceId, replica.Key).Inc();
    }

    internal static void Left(ServiceRoute route, Replica replica) => InFlight.WithLabels(route.ServiceId, replica.Key).Dec();

    internal static void Failed(ServiceRoute route, Replica replica) => ReplicaFailures.WithLabels(route.ServiceId, replica.Key).Inc();

    private static (string Service, string Model) Labels(ServiceRoute? route) => route is null ? ("", "") : (route.ServiceId, route.ModelName);
}
