using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.SamplePlugin;

/// <summary>
/// An in-memory environment named <c>sample</c>: Apply records the spec and the service is Running at once,
/// at the endpoint <c>Plugins:Sample:Endpoint</c> (default <c>http://127.0.0.1:9/</c>). Resource ids name the
/// plugin's build (<c>sample-v{version}/…</c>) so a caller can tell which loaded version did the work.
/// </summary>
/// <param name="configuration">The host's configuration (plugins get host services through their constructor).</param>
public sealed class SampleShimlet(IConfiguration configuration) : IShimlet
{
    private readonly ConcurrentDictionary<string, (DeploymentSpec Spec, int Replicas)> _deployed = new(StringComparer.Ordinal);
    private readonly Uri _endpoint = new(configuration["Plugins:Sample:Endpoint"] ?? "http://127.0.0.1:9/");

    /// <summary>The build's version marker, visible in resource ids.</summary>
    public static string Marker => $"sample-v{typeof(SampleShimlet).Assembly.GetName().Version?.ToString(3)}";

    /// <inheritdoc />
    public string Name => "sample";

    /// <inheritdoc />
    public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var changed = !_deployed.TryGetValue(spec.ServiceId, out var existing) || existing.Spec != spec;
        _deployed[spec.ServiceId] = (spec, spec.Replicas);
        return Task.FromResult(new ApplyResult([$"{Marker}/{spec.Namespace ?? "default"}/{spec.ServiceId}"], changed));
    }

    /// <inheritdoc />
    public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return Task.FromResult(_deployed.TryGetValue(target.ServiceId, out var d)
            ? new ShimletStatus { Phase = ServicePhase.Running, ReadyReplicas = d.Replicas, DesiredReplicas = d.Replicas, Endpoint = _endpoint, Message = $"applied by {Marker}" }
            : new ShimletStatus { Phase = ServicePhase.NotFound });
    }

    /// <inheritdoc />
    public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (_deployed.TryGetValue(target.ServiceId, out var d))
        {
            _deployed[target.ServiceId] = (d.Spec, replicas);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        _deployed.TryRemove(target.ServiceId, out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([$"{Marker}: no logs kept in memory"]);
}
