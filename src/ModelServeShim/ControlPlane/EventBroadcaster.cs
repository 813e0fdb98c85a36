using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using ModelServeShim.Apis;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using Prometheus;

namespace ModelServeShim.ControlPlane;

/// <summary>One event of the server-wide stream (<c>GET /api/v1/events</c>): its name and its JSON data.</summary>
/// <param name="Name"><c>service</c>, <c>instance</c>, <c>step</c> or <c>definition</c>.</param>
/// <param name="Data">The payload, serialized when the event happened (the records it came from may change later).</param>
public sealed record ServerEvent(string Name, string Data);

/// <summary>The data of an <c>instance</c> event: an instance's status changed.</summary>
public sealed record InstanceEvent(string InstanceId, string DefinitionId, int DefinitionVersion, InstanceStatus Status, string? CorrelationId)
{
    /// <summary>When it was suspended: the signals it waits for (absent otherwise).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Apis.WaitingSignal>? WaitingFor { get; init; }
}

/// <summary>The data of a <c>step</c> event: a step attempt started or ended.</summary>
public sealed record StepEvent(
    string InstanceId, string DefinitionId, string? CorrelationId, string ActivityId, string ActivityType, int Attempt, StepStatus Status,
    DateTimeOffset StartedAt, DateTimeOffset? EndedAt, double? DurationMs, bool IsFinal, string? ErrorType, string? ErrorMessage);

/// <summary>The data of a <c>definition</c> event: a version was stored, or the definition deleted.</summary>
public sealed record DefinitionEvent(string DefinitionId, int Version);

/// <summary>
/// Fans server-wide events out to the web UI's event streams: services (every stored change), workflow instances
/// and step attempts (it observes the runtime) and definitions. Each subscriber has its own bounded queue: one that
/// does not keep up loses its oldest events rather than growing memory, and never slows the publisher. Publishing
/// never blocks and never throws.
/// </summary>
public sealed class EventBroadcaster : IWorkflowObserver
{
    /// <summary>How many events a subscriber may fall behind before it loses the oldest.</summary>
    public const int SubscriberCapacity = 1000;

    private static readonly Gauge Subscribers = Metrics.CreateGauge(
        "modelserveshim_event_stream_subscribers", "Open server-wide event streams (GET /api/v1/events).");

    private readonly ConcurrentDictionary<Channel<ServerEvent>, byte> _subscribers = new();
    private readonly JsonSerializerOptions _json;
    private readonly ILogger<EventBroadcaster> _logger;

    /// <summary>Creates the broadcaster; it follows the definition store's changes.</summary>
    public EventBroadcaster(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, DefinitionStore definitions, ILogger<EventBroadcaster> logger)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(definitions);
        _json = json.Value.SerializerOptions;
        _logger = logger;
        definitions.Changed += (definitionId, version) => Publish("definition", () => new DefinitionEvent(definitionId, version));
    }

    /// <summary>The open subscriptions of this server.</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>Subscribes to every event from now on; dispose the subscription to stop.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(SubscriberCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _subscribers[channel] = 0;
        Subscribers.Inc();
        return new Subscription(channel.Reader, () =>
        {
            if (_subscribers.TryRemove(channel, out _))
            {
                Subscribers.Dec();
            }
        });
    }

    /// <summary>
    /// Raised, in process, for every stored change of a service (the gateway follows states and replica counts with it).
    /// Handlers must be quick and must not throw.
    /// </summary>
    public event Action<ServiceRecord>? ServiceChanged;

    /// <summary>A service was created or changed (stored).</summary>
    public void OnServiceChanged(ServiceRecord service)
    {
        try
        {
            ServiceChanged?.Invoke(service);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "A service-changed handler failed for service {Service}", service?.Id);
        }

        Publish("service", () => ServiceSummary.From(service!));
    }

    /// <inheritdoc />
    public void OnInstanceChanged(InstanceRecord instance) => Publish("instance", () =>
        new InstanceEvent(instance.Id, instance.DefinitionId, instance.DefinitionVersion, instance.Status, instance.CorrelationId));

    /// <inheritdoc />
    public void OnSuspended(InstanceRecord instance, IReadOnlyList<BookmarkRecord> waitingFor) => Publish("instance", () =>
        new InstanceEvent(instance.Id, instance.DefinitionId, instance.DefinitionVersion, instance.Status, instance.CorrelationId)
        {
            WaitingFor = [.. waitingFor.Select(Apis.WaitingSignal.From)],
        });

    /// <inheritdoc />
    public void OnStepChanged(InstanceRecord instance, StepExecutionRecord step) => Publish("step", () => new StepEvent(
        step.InstanceId, instance.DefinitionId, instance.CorrelationId, step.ActivityId, step.ActivityType, step.Attempt, step.Status,
        step.StartedAt, step.EndedAt, (step.EndedAt - step.StartedAt)?.TotalMilliseconds, step.IsFinal, step.ErrorType, step.ErrorMessage));

    private void Publish<T>(string name, Func<T> data)
    {
        if (_subscribers.IsEmpty)
        {
            return;
        }

        try
        {
            // Serialized now, once for every subscriber: the runtime may change the records it reported after this call.
            var e = new ServerEvent(name, JsonSerializer.Serialize(data(), _json));
            foreach (var channel in _subscribers.Keys)
            {
                channel.Writer.TryWrite(e);
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not publish a {Event} event to the event streams", name);
        }
    }

    /// <summary>A live subscription; dispose to stop.</summary>
    public sealed class Subscription(ChannelReader<ServerEvent> reader, Action unsubscribe) : IDisposable
    {
        /// <summary>The events, oldest first.</summary>
        public ChannelReader<ServerEvent> Reader => reader;

        /// <inheritdoc />
        public void Dispose() => unsubscribe();
    }
}
