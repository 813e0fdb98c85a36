using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Replicas;

namespace ModelServeShim.Hosting;

/// <summary>
/// Refuses to run beside other replicas while the default shimlet is <c>local</c>: the local shimlet runs models as
/// processes of one replica's own machine, so another replica that takes over its instances could neither reach nor stop
/// them (docs/ha.md). Found through the replica registry at start: the server exits with code 3 and says so.
/// </summary>
public sealed class LocalShimletReplicaCheck(IOptions<ShimOptions> options) : IReplicaCheck
{
    /// <inheritdoc />
    public string? RefuseBesideOthers() => options.Value.Shimlet == "local"
        ? "the default shimlet is 'local', which runs models as processes of one replica's machine, so another replica taking over its pipelines "
            + "could not reach them. Run replicas with a cluster shimlet as the default (--shimlet=k8s, or docker on a remote engine); see docs/ha.md."
        : null;
}
