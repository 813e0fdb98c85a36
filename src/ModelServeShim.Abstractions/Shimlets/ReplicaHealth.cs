namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// One replica as a shimlet that runs each replica itself (a process, a container) reads it: where it answers, whether
/// its health path answered 200, and if not, why.
/// </summary>
/// <param name="Endpoint">The replica's base URL; null when unknown (it is then not ready).</param>
/// <param name="Ready">Whether its health probe answered 200.</param>
/// <param name="Problem">
/// Why it is not ready (ignored when <paramref name="Ready"/>): <see cref="UnhealthyReason.CrashLoop"/> or
/// <see cref="UnhealthyReason.Failed"/> when waiting cannot fix it, otherwise pending (<see cref="UnhealthyReason.None"/>
/// counts as <see cref="UnhealthyReason.Pending"/>).
/// </param>
/// <param name="Message">The problem in the environment's words, naming the replica.</param>
public sealed record ReplicaReading(Uri? Endpoint, bool Ready, UnhealthyReason Problem = UnhealthyReason.None, string? Message = null);

/// <summary>
/// The service status of replicas a shimlet runs one by one (the Docker and local shimlets): the one rule for phase,
/// reason and message, so that every such environment reports the same situation the same way.
/// </summary>
public static class ReplicaHealth
{
    /// <summary>
    /// The status of <paramref name="replicas"/> (one or more; a service with none is stopped, which the shimlet says
    /// itself). All ready: <see cref="ServicePhase.Running"/>. Otherwise the reason is the worst problem of a replica
    /// that is not ready (crash loop, then failed, then pending) and the message joins the messages of the replicas
    /// with that reason; a crash loop or failure is <see cref="ServicePhase.Failed"/> when no replica is ready, a
    /// pending replica <see cref="ServicePhase.Pending"/>; with some replicas ready either is
    /// <see cref="ServicePhase.Degraded"/>. <see cref="ShimletStatus.ReplicaEndpoints"/> lists the ready replicas.
    /// </summary>
    /// <param name="replicas">The replicas, in replica order.</param>
    /// <param name="endpoint">Where the service answers (usually the first replica).</param>
    /// <exception cref="ArgumentException"><paramref name="replicas"/> is empty.</exception>
    public static ShimletStatus Aggregate(IReadOnlyList<ReplicaReading> replicas, Uri? endpoint)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0)
        {
            throw new ArgumentException("A status needs one or more replicas; a service without replicas is stopped.", nameof(replicas));
        }

        var ready = replicas.Where(r => r.Ready).ToList();
        var status = new ShimletStatus
        {
            Phase = ServicePhase.Running,
            ReadyReplicas = ready.Count,
            DesiredReplicas = replicas.Count,
            Endpoint = endpoint,
            ReplicaEndpoints = [.. ready.Select(r => r.Endpoint).OfType<Uri>()],
        };
        if (ready.Count == replicas.Count)
        {
            return status;
        }

        var reason = replicas.Where(r => !r.Ready).Select(r => Severity(r.Problem)).Max() switch
        {
            2 => UnhealthyReason.CrashLoop,
            1 => UnhealthyReason.Failed,
            _ => UnhealthyReason.Pending,
        };
        var terminal = reason != UnhealthyReason.Pending;
        var messages = replicas.Where(r => !r.Ready && Severity(r.Problem) == Severity(reason) && !string.IsNullOrEmpty(r.Message)).Select(r => r.Message);
        return status with
        {
            Phase = ready.Count > 0 ? ServicePhase.Degraded : terminal ? ServicePhase.Failed : ServicePhase.Pending,
            Reason = reason,
            Message = string.Join("; ", messages) is { Length: > 0 } message ? message : null,
        };
    }

    private static int Severity(UnhealthyReason problem) => problem switch
    {
        UnhealthyReason.CrashLoop => 2,
        UnhealthyReason.Failed => 1,
        _ => 0,
    };
}
