using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Hosting;

/// <summary>
/// Refuses to be a standby replica while the default shimlet is <c>local</c>: the local shimlet runs models as processes
/// of the active replica's own machine, so after a fail-over no replica could reach or stop them (docs/ha.md).
/// </summary>
public sealed class LocalShimletStandbyCheck(IOptions<ShimOptions> options) : IStandbyCheck
{
    /// <inheritdoc />
    public string? RefuseStandby() => options.Value.Shimlet == "local"
        ? "the default shimlet is 'local', which runs models as processes of the active replica's machine, so after a fail-over no replica "
            + "could reach them. Run replicas with a cluster shimlet as the default (--shimlet=k8s, or docker on a remote engine); see docs/ha.md."
        : null;
}
