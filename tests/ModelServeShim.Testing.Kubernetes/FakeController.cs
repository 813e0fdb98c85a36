using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using ModelServeShim.Shimlets.Kubernetes;

namespace ModelServeShim.Testing.Kubernetes;

/// <summary>What the scripted controller makes of a workload's pods.</summary>
public enum PodScenario
{
    /// <summary>Pods run and turn ready.</summary>
    Ready,

    /// <summary>Pods are created and stay in ContainerCreating.</summary>
    Hold,

    /// <summary>The image cannot be pulled.</summary>
    ImagePullBackOff,

    /// <summary>The container keeps crashing; its log has an error.</summary>
    CrashLoopBackOff,

    /// <summary>The scheduler finds no node with enough GPUs.</summary>
    InsufficientGpu,

    /// <summary>The scheduler finds no node matching the node selector.</summary>
    Unschedulable,
}

/// <summary>
/// A scripted stand-in for the Deployment/StatefulSet controllers, the scheduler and the kubelet: it keeps
/// <c>spec.replicas</c> pods for every workload (one ReplicaSet level is skipped: pods are owned by the workload
/// directly) and gives them the status its scenario prescribes, then writes the workload's status.
/// </summary>
public sealed class FakeController : IAsyncDisposable
{
    // The scheduler's own wording for a one-node cluster, as a real kube-scheduler writes it into PodScheduled.
    public const string InsufficientGpuMessage = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.";
    public const string NodeSelectorMessage = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";

    public static readonly string[] CrashLog =
    [
        "INFO loading model from /models",
        "ERROR CUDA error: out of memory",
        "Traceback (most recent call last):",
        "RuntimeError: failed to load the model weights",
    ];

    private readonly FakeStore _store;
    private readonly TimeProvider _time;
    private readonly Channel<(FakeResource Resource, string Namespace, string Name)> _queue = Channel.CreateUnbounded<(FakeResource, string, string)>();
    private readonly ConcurrentDictionary<string, PodScenario> _scenarios = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile PodScenario _defaultScenario = PodScenario.Ready;

    public FakeController(FakeStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _store.WorkloadChanged += (resource, ns, name) => _queue.Writer.TryWrite((resource, ns, name));
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Pod log lines, per namespace and pod.</summary>
    public ConcurrentDictionary<(string Namespace, string Pod), List<(DateTimeOffset Time, string Line)>> Logs { get; } = new();

    /// <summary>Failures inside the controller (a test can assert there were none).</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    /// <summary>
    /// The scenario of workloads that <see cref="SetScenario"/> has not named, e.g. one a test learns the name of only
    /// once it exists (the host names it after the service id it generates). Default <see cref="PodScenario.Ready"/>.
    /// </summary>
    public PodScenario DefaultScenario
    {
        get => _defaultScenario;
        set => _defaultScenario = value;
    }

    /// <summary>Sets the scenario for a workload's pods (by workload name) and reconciles it.</summary>
    public void SetScenario(string ns, string workloadName, PodScenario scenario)
    {
        _scenarios[workloadName] = scenario;
        _queue.Writer.TryWrite((FakeResource.Deployments, ns, workloadName));
        _queue.Writer.TryWrite((FakeResource.StatefulSets, ns, workloadName));
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        await foreach (var (resource, ns, name) in _queue.Reader.ReadAllAsync(_stop.Token))
        {
            try
            {
                await ReconcileAsync(resource, ns, name);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Errors.Enqueue(e);
            }
        }
    }

    private async Task ReconcileAsync(FakeResource resource, string ns, string name)
    {
        await Task.Delay(10, _stop.Token);
        var workload = _store.Get(resource, ns, name);
        if (workload is null || workload["metadata"]?["deletionTimestamp"] is not null)
        {
            return;
        }

        var uid = workload["metadata"]!["uid"]!.GetValue<string>();
        var generation = workload["metadata"]!["generation"]!.AsLong();
        var replicas = workload["spec"]?["replicas"]?.AsLong() is { } r ? (int)r : 1;
        var template = workload["spec"]!["template"]!.AsObject();
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(template.ToJsonString())))[..10].ToLowerInvariant();
        var hashLabel = resource == FakeResource.Deployments ? "pod-template-hash" : "controller-revision-hash";
        var hashValue = resource == FakeResource.Deployments ? hash : $"{name}-{hash}";

        var owned = _store.List(FakeResource.Pods, ns, LabelSelector.Everything).Items
            .Where(p => (p["metadata"]?["ownerReferences"]?.AsArray() ?? []).Any(r => r?["uid"]?.GetValue<string>() == uid))
            .ToList();

        // A changed template replaces every pod (a simplified rollout).
        foreach (var stale in owned.Where(p => p["metadata"]?["labels"]?[hashLabel]?.GetValue<string>() != hashValue))
        {
            _store.Delete(FakeResource.Pods, ns, PodName(stale), "Background");
        }

        var current = owned.Where(p => p["metadata"]?["labels"]?[hashLabel]?.GetValue<string>() == hashValue).OrderBy(PodName, StringComparer.Ordinal).ToList();
        foreach (var extra in current.Skip(replicas))
        {
            _store.Delete(FakeResource.Pods, ns, PodName(extra), "Background");
        }

        var podNames = current.Take(replicas).Select(PodName).ToList();
        for (var i = podNames.Count; i < replicas; i++)
        {
            var podName = resource == FakeResource.StatefulSets
                ? $"{name}-{Enumerable.Range(0, replicas).First(o => !podNames.Contains($"{name}-{o}"))}"
                : $"{name}-{hash}-{Guid.NewGuid().ToString("N")[..5]}";
            var labels = (JsonObject)(template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject());
            labels[hashLabel] = hashValue;
            var pod = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["name"] = podName,
                    ["labels"] = labels,
                    ["ownerReferences"] = new JsonArray(new JsonObject
                    {
                        ["apiVersion"] = resource.ApiVersion,
                        ["kind"] = resource.Kind,
                        ["name"] = name,
                        ["uid"] = uid,
                        ["controller"] = true,
                        ["blockOwnerDeletion"] = true,
                    }),
                },
                ["spec"] = template["spec"]!.DeepClone(),
                ["status"] = new JsonObject { ["phase"] = "Pending" },
            };
            _store.Create(FakeResource.Pods, ns, pod, "kube-controller-manager");
            podNames.Add(podName);
        }

        WriteWorkloadStatus(resource, ns, name, generation, replicas, ready: 0, hashValue);
        await Task.Delay(20, _stop.Token);

        var scenario = _scenarios.GetValueOrDefault(name, DefaultScenario);
        var ready = 0;
        foreach (var podName in podNames)
        {
            var pod = _store.Get(FakeResource.Pods, ns, podName);
            if (pod is null)
            {
                continue;
            }

            var image = pod["spec"]?["containers"]?[0]?["image"]?.GetValue<string>() ?? string.Empty;
            _store.SetStatus(FakeResource.Pods, ns, podName, PodStatus(scenario, podName, image));
            WriteLogs(ns, podName, scenario);
            ready += scenario == PodScenario.Ready ? 1 : 0;
        }

        WriteWorkloadStatus(resource, ns, name, generation, replicas, ready, hashValue);
    }

    private void WriteLogs(string ns, string pod, PodScenario scenario)
    {
        string[] lines = scenario switch
        {
            PodScenario.Ready => ["INFO loading model from /models", "INFO server listening on 0.0.0.0:8080"],
            PodScenario.CrashLoopBackOff => CrashLog,
            _ => [],
        };
        if (lines.Length == 0)
        {
            return;
        }

        var log = Logs.GetOrAdd((ns, pod), _ => []);
        lock (log)
        {
            if (log.Count == 0)
            {
                var start = _time.GetUtcNow();
                log.AddRange(lines.Select((l, i) => (start.AddMilliseconds(i), l)));
            }
        }
    }

    private void WriteWorkloadStatus(FakeResource resource, string ns, string name, long generation, int replicas, int ready, string revision)
    {
        var status = new JsonObject
        {
            ["observedGeneration"] = generation,
            ["replicas"] = replicas,
            ["updatedReplicas"] = replicas,
        };

        // Zero counts are omitted, as the API server's omitempty does.
        if (ready > 0)
        {
            status["readyReplicas"] = ready;
            status["availableReplicas"] = ready;
        }

        var now = _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        if (resource == FakeResource.Deployments)
        {
            if (replicas - ready > 0)
            {
                status["unavailableReplicas"] = replicas - ready;
            }

            status["conditions"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "Available",
                    ["status"] = ready >= replicas ? "True" : "False",
                    ["reason"] = ready >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                    ["message"] = ready >= replicas ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
                    ["lastUpdateTime"] = now,
                    ["lastTransitionTime"] = now,
                },
                new JsonObject
                {
                    ["type"] = "Progressing",
                    ["status"] = "True",
                    ["reason"] = ready >= replicas ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                    ["message"] = $"ReplicaSet \"{name}-{revision}\" is progressing.",
                    ["lastUpdateTime"] = now,
                    ["lastTransitionTime"] = now,
                });
        }
        else
        {
            status["currentReplicas"] = replicas;
            status["currentRevision"] = revision;
            status["updateRevision"] = revision;
        }

        _store.SetStatus(resource, ns, name, status);
    }

    private JsonObject PodStatus(PodScenario scenario, string podName, string image)
    {
        var now = _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        JsonObject Condition(string type, string status, string? reason = null, string? message = null)
        {
            var condition = new JsonObject { ["type"] = type, ["status"] = status, ["lastTransitionTime"] = now };
            if (reason is not null)
            {
                condition["reason"] = reason;
                condition["message"] = message;
            }

            return condition;
        }

        JsonObject Container(bool ready, int restarts, JsonObject state, JsonObject? lastState = null) => new()
        {
            ["name"] = KubernetesManifestRenderer.ContainerName,
            ["ready"] = ready,
            ["started"] = ready,
            ["restartCount"] = restarts,
            ["image"] = image,
            ["imageID"] = string.Empty,
            ["state"] = state,
            ["lastState"] = lastState ?? new JsonObject(),
        };

        JsonObject Waiting(string reason, string message) => new() { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = message } };

        return scenario switch
        {
            PodScenario.Ready => new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = "10.244.0.17",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("Initialized", "True"), Condition("ContainersReady", "True"), Condition("Ready", "True")),
                ["containerStatuses"] = new JsonArray(Container(true, 0, new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } })),
            },
            PodScenario.Hold => new JsonObject
            {
                ["phase"] = "Pending",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("Ready", "False", "ContainersNotReady", "containers with unready status: [model]")),
                ["containerStatuses"] = new JsonArray(Container(false, 0, Waiting("ContainerCreating", string.Empty))),
            },
            PodScenario.ImagePullBackOff => new JsonObject
            {
                ["phase"] = "Pending",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("Ready", "False", "ContainersNotReady", "containers with unready status: [model]")),
                ["containerStatuses"] = new JsonArray(Container(false, 0, Waiting("ImagePullBackOff", $"Back-off pulling image \"{image}\""))),
            },
            PodScenario.CrashLoopBackOff => new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("Ready", "False", "ContainersNotReady", "containers with unready status: [model]")),
                ["containerStatuses"] = new JsonArray(Container(false, 4,
                    Waiting("CrashLoopBackOff", $"back-off 1m20s restarting failed container=model pod={podName}"),
                    new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error", ["startedAt"] = now, ["finishedAt"] = now } })),
            },
            PodScenario.InsufficientGpu => new JsonObject
            {
                ["phase"] = "Pending",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "False", "Unschedulable", InsufficientGpuMessage)),
            },
            PodScenario.Unschedulable => new JsonObject
            {
                ["phase"] = "Pending",
                ["conditions"] = new JsonArray(Condition("PodScheduled", "False", "Unschedulable", NodeSelectorMessage)),
            },
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
    }

    private static string PodName(JsonObject pod) => pod["metadata"]!["name"]!.GetValue<string>();
}
