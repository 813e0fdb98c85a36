using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>What the test shimlet makes of a service once it is applied.</summary>
public enum TestBehaviour
{
    /// <summary>Pending for a moment, then Running with an endpoint on <see cref="FakeRuntime"/>.</summary>
    Run,
    /// <summary>Pending, then Failed with reason CrashLoop and the runtime's last log lines.</summary>
    CrashLoop,
    /// <summary>Failed with reason ImageUnavailable.</summary>
    ImageUnavailable,
    /// <summary>Pending, then Failed with reason InsufficientAccelerators.</summary>
    InsufficientAccelerators,
}

/// <summary>
/// An in-memory environment named <c>test</c>, scriptable per model name: a service becomes Running with an
/// endpoint served by <see cref="FakeRuntime"/> on 127.0.0.1, or fails the way a cluster reports failures.
/// Records every Apply, Scale and Delete; a running service can be flipped unhealthy and back.
/// </summary>
public sealed class TestShimlet : IShimlet
{
    /// <summary>The log lines a crash-looping runtime leaves.</summary>
    public static readonly string[] CrashLogLines =
    [
        "llama_model_load: loading model from '/models/sample/sample-llama-f32.gguf'",
        "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected",
        "error: failed to load model, exiting with code 1",
    ];

    private readonly ConcurrentDictionary<string, TestBehaviour> _behaviours = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Deployed> _deployed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _deleteFailures = new(StringComparer.Ordinal);

    public TestShimlet(FakeRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        Runtime = runtime;
        runtime.Lookup = serviceId => _deployed.TryGetValue(serviceId, out var d) && !d.Deleted ? (d.Healthy, d.Spec.ModelName) : null;
    }

    public string Name => "test";

    public FakeRuntime Runtime { get; }

    /// <summary>Every applied spec, in order.</summary>
    public ConcurrentQueue<DeploymentSpec> Applied { get; } = new();

    /// <summary>Every scale call, in order.</summary>
    public ConcurrentQueue<(string ServiceId, int Replicas)> Scaled { get; } = new();

    /// <summary>Every delete call that succeeded, in order.</summary>
    public ConcurrentQueue<string> Deleted { get; } = new();

    /// <summary>Every delete call, failed or not, in order.</summary>
    public ConcurrentQueue<string> DeleteAttempts { get; } = new();

    /// <summary>Makes the next <paramref name="times"/> deletes of a service throw (<see cref="int.MaxValue"/>: every one).</summary>
    public void FailDeletes(string serviceId, int times) => _deleteFailures[serviceId] = times;

    /// <summary>How long a service stays Pending before its scripted status shows.</summary>
    public TimeSpan PendingFor { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Scripts what a model's services do once applied (default: <see cref="TestBehaviour.Run"/>).</summary>
    public void Script(string modelName, TestBehaviour behaviour) => _behaviours[modelName] = behaviour;

    /// <summary>Makes a deployed service unhealthy (or healthy again): its status and its /health follow.</summary>
    public void SetHealthy(string serviceId, bool healthy) => _deployed[serviceId].Healthy = healthy;

    /// <summary>
    /// Serves a running service from these runtimes, one replica each: its status lists their endpoints as
    /// <see cref="ShimletStatus.ReplicaEndpoints"/> (the way the local shimlet reports one process per replica).
    /// </summary>
    public void SetReplicaRuntimes(string serviceId, IReadOnlyList<FakeRuntime> runtimes)
    {
        ArgumentNullException.ThrowIfNull(runtimes);
        foreach (var runtime in runtimes)
        {
            runtime.Lookup = Runtime.Lookup;
        }

        _deployed[serviceId].ReplicaRuntimes = runtimes;
    }

    public IEnumerable<DeploymentSpec> AppliedFor(string serviceId) => Applied.Where(s => s.ServiceId == serviceId);

    public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Applied.Enqueue(spec);
        var behaviour = _behaviours.GetValueOrDefault(spec.ModelName, TestBehaviour.Run);
        _deployed[spec.ServiceId] = new Deployed(spec, behaviour, Environment.TickCount64);
        return Task.FromResult(new ApplyResult([$"test/{spec.Namespace ?? "default"}/Deployment/{spec.ServiceId}", $"test/{spec.Namespace ?? "default"}/Service/{spec.ServiceId}"], Changed: true));
    }

    public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return Task.FromResult(StatusOf(target.ServiceId));
    }

    /// <summary>Reports the status every 50 ms while it changes; quiet otherwise, as a real watch is.</summary>
    public async IAsyncEnumerable<ShimletStatus> WatchStatusAsync(ServiceTarget target, TimeProvider timeProvider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ShimletStatus? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var status = StatusOf(target.ServiceId);
            if (status != last)
            {
                yield return status;
                last = status;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        Scaled.Enqueue((target.ServiceId, replicas));
        if (_deployed.TryGetValue(target.ServiceId, out var d))
        {
            d.Replicas = replicas;
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        DeleteAttempts.Enqueue(target.ServiceId);
        if (_deleteFailures.TryGetValue(target.ServiceId, out var failures) && failures > 0)
        {
            _deleteFailures[target.ServiceId] = failures == int.MaxValue ? failures : failures - 1;
            throw new IOException($"the test environment refused to delete {target.ServiceId}");
        }

        Deleted.Enqueue(target.ServiceId);
        if (_deployed.TryGetValue(target.ServiceId, out var d))
        {
            d.Deleted = true;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        IReadOnlyList<string> lines = _deployed.TryGetValue(target.ServiceId, out var d) && d.Behaviour == TestBehaviour.CrashLoop ? CrashLogLines : [];
        return Task.FromResult<IReadOnlyList<string>>([.. lines.TakeLast(tailLines)]);
    }

    private ShimletStatus StatusOf(string serviceId)
    {
        if (!_deployed.TryGetValue(serviceId, out var d) || d.Deleted)
        {
            return new ShimletStatus { Phase = ServicePhase.NotFound };
        }

        int desired = d.Replicas;
        if (Environment.TickCount64 - d.AppliedAt < PendingFor.TotalMilliseconds && d.Behaviour != TestBehaviour.ImageUnavailable)
        {
            return new ShimletStatus { Phase = ServicePhase.Pending, DesiredReplicas = desired, Reason = UnhealthyReason.Pending, Message = "pulling image" };
        }

        return d.Behaviour switch
        {
            TestBehaviour.CrashLoop => new ShimletStatus
            {
                Phase = ServicePhase.Failed, DesiredReplicas = desired, Reason = UnhealthyReason.CrashLoop,
                Message = "Back-off restarting failed container runtime (exit code 1, 5 restarts)\nLast log lines:\n" + string.Join('\n', CrashLogLines),
            },
            TestBehaviour.ImageUnavailable => new ShimletStatus
            {
                Phase = ServicePhase.Failed, DesiredReplicas = desired, Reason = UnhealthyReason.ImageUnavailable,
                Message = $"Failed to pull image \"{d.Spec.Image}\": not found",
            },
            TestBehaviour.InsufficientAccelerators => new ShimletStatus
            {
                Phase = ServicePhase.Pending, DesiredReplicas = desired, Reason = UnhealthyReason.InsufficientAccelerators,
                Message = $"0/3 nodes are available: 3 Insufficient {d.Spec.Resources.AcceleratorType ?? "accelerators"}.",
            },
            _ when desired == 0 => new ShimletStatus { Phase = ServicePhase.Stopped, DesiredReplicas = 0 },
            _ when !d.Healthy => new ShimletStatus
            {
                Phase = ServicePhase.Degraded, ReadyReplicas = 0, DesiredReplicas = desired, Reason = UnhealthyReason.Failed,
                Message = "readiness probe failed: GET /health answered 503", Endpoint = Runtime.EndpointFor(serviceId),
            },
            _ when d.ReplicaRuntimes is { } runtimes => new ShimletStatus
            {
                Phase = ServicePhase.Running, ReadyReplicas = runtimes.Count, DesiredReplicas = runtimes.Count, Endpoint = runtimes[0].EndpointFor(serviceId),
                ReplicaEndpoints = [.. runtimes.Select(r => r.EndpointFor(serviceId))],
            },
            _ => new ShimletStatus { Phase = ServicePhase.Running, ReadyReplicas = desired, DesiredReplicas = desired, Endpoint = Runtime.EndpointFor(serviceId) },
        };
    }

    private sealed class Deployed(DeploymentSpec spec, TestBehaviour behaviour, long appliedAt)
    {
        public DeploymentSpec Spec { get; } = spec;

        public TestBehaviour Behaviour { get; } = behaviour;

        public long AppliedAt { get; } = appliedAt;

        public int Replicas { get; set; } = spec.Replicas;

        public bool Healthy { get; set; } = true;

        public bool Deleted { get; set; }

        public IReadOnlyList<FakeRuntime>? ReplicaRuntimes { get; set; }
    }
}
