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

/// <summary>One event of the server-wide stream (<c>GET /api/v1/events</c>): its sequence, its name and its JSON data.</summary>
/// <param name="Sequence">Its number in the <see cref="EventLog"/> (the SSE <c>id</c>; on PostgreSQL the same on every replica).</param>
/// <param name="Name"><c>service</c>, <c>instance</c>, <c>step</c> or <c>definition</c>.</param>
/// <param name="Data">The payload, serialized when the event happened (the records it came from may change later).</param>
public sealed record ServerEvent(long Sequence, string Name, string Data);

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
/// and step attempts (it observes the runtime) and definitions. Each event is numbered by the <see cref="EventLog"/>
/// (in memory with SQLite; in <c>server_events</c> with PostgreSQL, where every replica reads every replica's events)
/// and then handed to each subscriber's bounded queue. A subscriber that does not keep up is marked
/// <see cref="Subscription.Lagged"/> rather than growing memory, and reads what it missed from the log; it never slows
/// the publisher. Publishing never blocks and never throws.
/// </summary>
public sealed class EventBroadcaster : IWorkflowObserver
{
    /// <summary>How many events a subscriber may fall behind before it loses the oldest.</summary>
    public const int SubscriberCapacity = 1000;

    private static readonly Gauge Subscribers = Metrics.CreateGauge(
        "modelserveshim_event_stream_subscribers", "Open server-wide event streams (GET /api/v1/events).");

    private readonly ConcurrentDictionary<Subscription, byte> _subscribers = new();
    private readonly JsonSerializerOptions _json;
    private readonly EventLog _log;
    private readonly ILogger<EventBroadcaster> _logger;

    /// <summary>Creates the broadcaster; it follows the definition store's changes and delivers what the log numbers.</summary>
    public EventBroadcaster(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, DefinitionStore definitions, EventLog log, ILogger<EventBroadcaster> logger)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(definitions);
        ArgumentNullException.ThrowIfNull(log);
        _json = json.Value.SerializerOptions;
        _log = log;
        _logger = logger;
        log.Connect(Deliver);
        definitions.Changed += (definitionId, version) => Publish("definition", () => new DefinitionEvent(definitionId, version));
    }

    /// <summary>The open subscriptions of this server.</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>Subscribes to every event from now on; dispose the subscription to stop.</summary>
    public Subscription Subscribe()
    {
        var subscription = new Subscription(this);
        _subscribers[subscription] = 0;
        Subscribers.Inc();
        return subscription;
    }

    /// <summary>
    /// The retained events after <paramref name="after"/> (at most <paramref name="max"/>), for a stream that resumes
    /// or lagged behind; or a reset when they are no longer retained.
    /// </summary>
    public Task<EventBacklog> ReadAfterAsync(long after, int max, CancellationToken cancellationToken) => _log.ReadAfterAsync(after, max, cancellationToken);

    /// <summary>
    /// Raised, in process, for every stored change of a service (the gateway follows states and replica counts with it).
    /// Handlers must be quick and must not throw.
    /// </summary>
    public event Action<ServiceRecord>? ServiceChanged;

    /// <summary>
    /// Raised for every event delivered to this server's streams once the event log has numbered it: this replica's
    /// own events and, on PostgreSQL, those of every other replica (the gateway follows services changed elsewhere with
    /// it). Handlers must be quick and must not throw.
    /// </summary>
    public event Action<ServerEvent>? Delivered;

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
        try
        {
            // Serialized now, once: the runtime may change the records it reported after this call. Always logged,
            // even with no subscriber here: a stream may resume later, and other replicas may have subscribers.
            _log.Append(name, JsonSerializer.Serialize(data(), _json));
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not publish a {Event} event to the event streams", name);
        }
    }

    private void Deliver(ServerEvent e)
    {
        try
        {
            Delivered?.Invoke(e);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogError(ex, "An event-delivered handler failed for event {Sequence} ({Event})", e.Sequence, e.Name);
        }

        foreach (var subscription in _subscribers.Keys)
        {
            subscription.Write(e);
        }
    }

    /// <summary>A live subscription; dispose to stop.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly EventBroadcaster _owner;
        private readonly Channel<ServerEvent> _channel;
        private int _lagged;

        internal Subscription(EventBroadcaster owner)
        {
            _owner = owner;
            // When the queue is full the newest events are not queued and the subscription is marked: the stream sends
            // what it has, then reads the rest from the log (nothing is skipped while the log retains it).
            _channel = Channel.CreateBounded<ServerEvent>(
                new BoundedChannelOptions(SubscriberCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
                _ => Interlocked.Exchange(ref _lagged, 1));
        }

        /// <summary>The events, oldest first.</summary>
        public ChannelReader<ServerEvent> Reader => _channel.Reader;

        /// <summary>Whether events were not queued since the last call (the queue was full); clears the mark.</summary>
        public bool Lagged() => Interlocked.Exchange(ref _lagged, 0) == 1;

        internal void Write(ServerEvent e) => _channel.Writer.TryWrite(e);

        /// <inheritdoc />
        public void Dispose()
        {
            if (_owner._subscribers.TryRemove(this, out _))
            {
                Subscribers.Dec();
            }
        }
    }
}
