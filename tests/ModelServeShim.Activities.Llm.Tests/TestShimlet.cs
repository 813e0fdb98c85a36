using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>
/// An in-memory, scriptable shimlet: records applied specs (re-applying the same spec changes nothing, as the
/// contract asks) and reports the scripted statuses in order from <see cref="WatchStatusAsync"/>, then stays
/// silent until cancelled, as a real watch does when nothing changes.
/// </summary>
public sealed class TestShimlet(string name) : IShimlet
{
    private readonly ConcurrentDictionary<string, string> _applied = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    /// <summary>What the watch reports, in order.</summary>
    public IReadOnlyList<ShimletStatus> Script { get; set; } = [new() { Phase = ServicePhase.Pending, Reason = UnhealthyReason.Pending }];

    /// <summary>Specs applied, in order (including unchanged re-applies).</summary>
    public ConcurrentQueue<DeploymentSpec> Applied { get; } = new();

    /// <summary>Set when a watch was cancelled (the step ended or timed out).</summary>
    public TaskCompletionSource WatchEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static ShimletStatus Running(Uri endpoint, int replicas = 1) => new()
    {
        Phase = ServicePhase.Running,
        ReadyReplicas = replicas,
        DesiredReplicas = replicas,
        Endpoint = endpoint,
    };

    public static ShimletStatus Pending(string? message = null) => new()
    {
        Phase = ServicePhase.Pending,
        DesiredReplicas = 1,
        Reason = UnhealthyReason.Pending,
        Message = message,
    };

    public static ShimletStatus Failing(UnhealthyReason reason, string message) => new()
    {
        Phase = ServicePhase.Failed,
        DesiredReplicas = 1,
        Reason = reason,
        Message = message,
    };

    public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Applied.Enqueue(spec);
        var json = JsonSerializer.Serialize(spec, JsonSerializerOptions.Web);
        var changed = !_applied.TryGetValue(spec.ServiceId, out var previous) || previous != json;
        _applied[spec.ServiceId] = json;
        return Task.FromResult(new ApplyResult([$"test/{spec.Namespace ?? "default"}/Service/{spec.ServiceId}"], changed));
    }

    public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken) =>
        Task.FromResult(Script.Count > 0 ? Script[^1] : new ShimletStatus { Phase = ServicePhase.NotFound });

    public async IAsyncEnumerable<ShimletStatus> WatchStatusAsync(ServiceTarget target, TimeProvider timeProvider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var status in Script)
        {
            await Task.Yield();
            yield return status;
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        finally
        {
            WatchEnded.TrySetResult();
        }
    }

    /// <summary>Scale calls, in order.</summary>
    public ConcurrentQueue<(string ServiceId, int Replicas)> Scaled { get; } = new();

    /// <summary>Deleted service ids, in order.</summary>
    public ConcurrentQueue<string> Deleted { get; } = new();

    /// <summary>What <see cref="GetLogsAsync"/> answers.</summary>
    public IReadOnlyList<string> LogLines { get; set; } = [];

    public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        Scaled.Enqueue((target.ServiceId, replicas));
        return Task.CompletedTask;
    }

    public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        _applied.TryRemove(target.ServiceId, out _);
        Deleted.Enqueue(target.ServiceId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. LogLines.TakeLast(tailLines)]);
}
