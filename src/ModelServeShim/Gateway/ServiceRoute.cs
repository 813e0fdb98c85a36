using ModelServeShim.ControlPlane;

namespace ModelServeShim.Gateway;

/// <summary>What the gateway knows of a service from the store: enough to route by name or id and to answer 503s.</summary>
/// <param name="ServiceId">The service id.</param>
/// <param name="ModelName">The model name clients send as <c>model</c>.</param>
/// <param name="State">The lifecycle state.</param>
/// <param name="Shimlet">Its shimlet.</param>
/// <param name="Namespace">Its namespace, if any.</param>
/// <param name="Replicas">The replicas wanted.</param>
/// <param name="CreatedAt">When it was deployed (the OpenAI model list's <c>created</c>).</param>
/// <param name="Revision">The store's revision: a newer one replaces an older one, never the reverse.</param>
public sealed record ServiceRoute(
    string ServiceId, string ModelName, ServiceState State, string Shimlet, string? Namespace, int Replicas, DateTimeOffset CreatedAt, long Revision)
{
    /// <summary>Running or Degraded, or Scaling to a number above zero (its replicas keep serving meanwhile): requests are forwarded.</summary>
    public bool IsServing => State is ServiceState.Running or ServiceState.Degraded || (State == ServiceState.Scaling && Replicas > 0);

    /// <summary>Failed or Stopped: nothing is served and nothing will be until a redeploy.</summary>
    public bool IsGone => State is ServiceState.Failed or ServiceState.Stopped;

    internal static ServiceRoute From(ServiceRecord s) =>
        new(s.Id, s.ModelName, s.State, s.Desired.Shimlet, s.Desired.Namespace, s.Desired.Replicas, s.CreatedAt, s.Revision);
}
