using System.Globalization;
using k8s.Models;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>The parts of a Deployment or StatefulSet that decide a service's status.</summary>
/// <param name="Kind">The object kind.</param>
/// <param name="Name">The object name.</param>
/// <param name="Desired">Desired replicas (<c>spec.replicas</c>, default 1).</param>
/// <param name="Ready">Ready replicas.</param>
/// <param name="RolledOut">Whether the controller has seen the current spec and updated every replica.</param>
/// <param name="Deleting">Whether the object has a deletion timestamp.</param>
/// <param name="FailureMessage">A controller condition that says progress stopped (deadline exceeded, replica failure).</param>
public sealed record WorkloadState(string Kind, string Name, int Desired, int Ready, bool RolledOut, bool Deleting, string? FailureMessage)
{
    /// <summary>Reads a Deployment.</summary>
    public static WorkloadState From(V1Deployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var desired = deployment.Spec?.Replicas ?? 1;
        var status = deployment.Status;
        var observed = (status?.ObservedGeneration ?? 0) >= (deployment.Metadata?.Generation ?? 0);
        var updated = status?.UpdatedReplicas ?? 0;
        string? failure = null;
        foreach (var condition in status?.Conditions ?? [])
        {
            if ((condition.Type == "Progressing" && condition.Status == "False" && condition.Reason == "ProgressDeadlineExceeded")
                || (condition.Type == "ReplicaFailure" && condition.Status == "True"))
            {
                failure = $"{condition.Reason}: {condition.Message}";
            }
        }

        return new WorkloadState(V1Deployment.KubeKind, deployment.Metadata?.Name ?? string.Empty, desired, status?.ReadyReplicas ?? 0,
            observed && updated >= desired, deployment.Metadata?.DeletionTimestamp is not null, failure);
    }

    /// <summary>Reads a StatefulSet.</summary>
    public static WorkloadState From(V1StatefulSet statefulSet)
    {
        ArgumentNullException.ThrowIfNull(statefulSet);
        var desired = statefulSet.Spec?.Replicas ?? 1;
        var status = statefulSet.Status;
        var observed = (status?.ObservedGeneration ?? 0) >= (statefulSet.Metadata?.Generation ?? 0);
        var revisionDone = status?.UpdateRevision is null || status.UpdateRevision == status.CurrentRevision || (status.UpdatedReplicas ?? 0) >= desired;
        return new WorkloadState(V1StatefulSet.KubeKind, statefulSet.Metadata?.Name ?? string.Empty, desired, status?.ReadyReplicas ?? 0,
            observed && revisionDone, statefulSet.Metadata?.DeletionTimestamp is not null, FailureMessage: null);
    }
}

/// <summary>A pod-level reason a service is not ready.</summary>
/// <param name="Reason">The mapped reason.</param>
/// <param name="PodName">The pod it was seen on.</param>
/// <param name="Message">Kubernetes' own words.</param>
public sealed record PodProblem(UnhealthyReason Reason, string PodName, string Message);

/// <summary>Maps Kubernetes object state onto <see cref="ShimletStatus"/>. Pure: no I/O.</summary>
public static class KubernetesStatusMapper
{
    /// <summary>The scheduler's message when no node has enough GPUs of the requested resource.</summary>
    public const string InsufficientGpuMarker = "Insufficient nvidia.com/gpu";

    private static readonly HashSet<string> ImageReasons = new(StringComparer.Ordinal) { "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull" };
    private static readonly HashSet<string> ConfigReasons = new(StringComparer.Ordinal) { "CreateContainerConfigError", "CreateContainerError" };

    /// <summary>The status of a service from its workload (null: none), its pods and its Service's endpoint.</summary>
    public static ShimletStatus Map(WorkloadState? workload, IReadOnlyList<V1Pod> pods, Uri? endpoint, string insufficientAcceleratorMarker = InsufficientGpuMarker)
    {
        ArgumentNullException.ThrowIfNull(pods);
        if (workload is null)
        {
            return new ShimletStatus { Phase = ServicePhase.NotFound };
        }

        var status = new ShimletStatus
        {
            Phase = ServicePhase.Pending,
            DesiredReplicas = workload.Desired,
            ReadyReplicas = workload.Ready,
            Endpoint = endpoint,
        };

        if (workload.Deleting)
        {
            return status with { Phase = ServicePhase.Stopped, Message = $"{workload.Kind} {workload.Name} is being deleted." };
        }

        if (workload.Desired == 0)
        {
            return status with { Phase = ServicePhase.Stopped, Message = "Scaled to zero replicas." };
        }

        if (workload.RolledOut && workload.Ready >= workload.Desired)
        {
            return status with { Phase = ServicePhase.Running };
        }

        var problem = FindPodProblem(pods, insufficientAcceleratorMarker);
        if (problem is not null)
        {
            return status with
            {
                Phase = workload.Ready > 0 ? ServicePhase.Degraded : ServicePhase.Failed,
                Reason = problem.Reason,
                Message = $"Pod {problem.PodName}: {problem.Message}",
            };
        }

        if (workload.FailureMessage is not null)
        {
            return status with
            {
                Phase = workload.Ready > 0 ? ServicePhase.Degraded : ServicePhase.Failed,
                Reason = UnhealthyReason.Failed,
                Message = workload.FailureMessage,
            };
        }

        return status with
        {
            Phase = workload.Ready > 0 ? ServicePhase.Degraded : ServicePhase.Pending,
            Reason = UnhealthyReason.Pending,
            Message = string.Create(CultureInfo.InvariantCulture, $"{workload.Ready}/{workload.Desired} replicas ready."),
        };
    }

    /// <summary>The most telling problem among the pods, or null. Image and crash problems win over scheduling ones.</summary>
    public static PodProblem? FindPodProblem(IEnumerable<V1Pod> pods, string insufficientAcceleratorMarker = InsufficientGpuMarker)
    {
        ArgumentNullException.ThrowIfNull(pods);
        PodProblem? best = null;
        foreach (var pod in pods.Where(p => p.Metadata?.DeletionTimestamp is null).OrderBy(p => p.Metadata?.Name, StringComparer.Ordinal))
        {
            var candidate = ProblemOf(pod, insufficientAcceleratorMarker);
            if (candidate is not null && (best is null || Rank(candidate.Reason) < Rank(best.Reason)))
            {
                best = candidate;
            }
        }

        return best;
    }

    private static PodProblem? ProblemOf(V1Pod pod, string insufficientAcceleratorMarker)
    {
        var name = pod.Metadata?.Name ?? "?";
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []);
        PodProblem? found = null;
        foreach (var container in statuses)
        {
            var waiting = container.State?.Waiting;
            if (waiting?.Reason is not { } reason)
            {
                continue;
            }

            var message = string.IsNullOrEmpty(waiting.Message) ? reason : $"{reason}: {waiting.Message}";
            PodProblem? candidate = reason switch
            {
                _ when ImageReasons.Contains(reason) => new(UnhealthyReason.ImageUnavailable, name, message),
                "CrashLoopBackOff" => new(UnhealthyReason.CrashLoop, name, CrashMessage(container, message)),
                _ when ConfigReasons.Contains(reason) => new(UnhealthyReason.Failed, name, message),
                _ => null,
            };
            if (candidate is not null && (found is null || Rank(candidate.Reason) < Rank(found.Reason)))
            {
                found = candidate;
            }
        }

        if (found is not null)
        {
            return found;
        }

        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled is { Status: "False" } && scheduled.Reason == "Unschedulable")
        {
            var message = scheduled.Message ?? "Unschedulable";
            // The scheduler's message is the API's documented signal for which resource is short.
            return message.Contains(insufficientAcceleratorMarker, StringComparison.Ordinal)
                ? new PodProblem(UnhealthyReason.InsufficientAccelerators, name, message)
                : new PodProblem(UnhealthyReason.Unschedulable, name, message);
        }

        return null;
    }

    private static string CrashMessage(V1ContainerStatus container, string message)
    {
        var terminated = container.LastState?.Terminated;
        return terminated is null
            ? message
            : string.Create(CultureInfo.InvariantCulture,
                $"{message} (restarts: {container.RestartCount}; last exit code {terminated.ExitCode}{(terminated.Reason is null ? string.Empty : ", " + terminated.Reason)})");
    }

    private static int Rank(UnhealthyReason reason) => reason switch
    {
        UnhealthyReason.ImageUnavailable => 0,
        UnhealthyReason.CrashLoop => 1,
        UnhealthyReason.Failed => 2,
        UnhealthyReason.InsufficientAccelerators => 3,
        UnhealthyReason.Unschedulable => 4,
        _ => 5,
    };
}
