using Docker.DotNet.Models;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker;

public sealed partial class DockerShimlet
{
    /// <summary>
    /// The status of a service's containers: each is inspected; one stopped on purpose is not a replica, one that is up
    /// is probed on its health path, one that does not answer says why (<see cref="DockerStatusMapper"/>, with its last
    /// log lines after a crash). <see cref="ReplicaHealth"/> makes the service's status of the replicas; with none left
    /// the service is stopped (scaled to zero).
    /// </summary>
    private async Task<ShimletStatus> StatusOfAsync(IList<ContainerListResponse> containers, CancellationToken ct)
    {
        var ordered = containers.OrderBy(ReplicaIndex).ToList();
        var endpoint = ReplicaEndpoint(ordered[0]);
        var replicas = new List<ReplicaReading>();
        foreach (var container in ordered)
        {
            var inspect = await _docker.Containers.InspectContainerAsync(container.ID, ct).ConfigureAwait(false);
            if (DockerStatusMapper.StoppedOnPurpose(inspect))
            {
                continue;
            }

            var replica = ReplicaEndpoint(container);
            if (DockerStatusMapper.IsUp(inspect) && replica is not null
                && await _probe.IsReadyAsync(HealthUrl(container, replica), ct).ConfigureAwait(false))
            {
                replicas.Add(new ReplicaReading(replica, Ready: true));
                continue;
            }

            var (reason, message, withLog) = DockerStatusMapper.Problem(inspect, _options.CrashLoopRestarts);
            if (withLog)
            {
                message += " Last log lines:\n" + string.Join('\n', await LastLinesAsync(container.ID, ct).ConfigureAwait(false));
            }

            replicas.Add(new ReplicaReading(replica, Ready: false, reason, message));
        }

        return replicas.Count == 0
            ? new ShimletStatus { Phase = ServicePhase.Stopped, Endpoint = endpoint, Message = "Scaled to zero: the containers are stopped." }
            : ReplicaHealth.Aggregate(replicas, endpoint);
    }

    /// <summary>Where a container's replica answers: 127.0.0.1 and the port in its label.</summary>
    private static Uri? ReplicaEndpoint(ContainerListResponse container) =>
        container.Labels.TryGetValue(DockerLabels.Port, out var port) ? new Uri($"http://{Loopback}:{port}") : null;

    private static Uri HealthUrl(ContainerListResponse container, Uri replica) =>
        new(replica, container.Labels.TryGetValue(DockerLabels.HealthPath, out var h) && h.StartsWith('/') ? h : "/" + h);
}
