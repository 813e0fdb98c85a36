using System.Runtime.CompilerServices;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.ControlPlane;

namespace ModelServeShim.Plugins;

/// <summary>
/// The host's handle on a plugin's shimlet: every call is counted in and out of its plugin, so a replaced
/// plugin is unloaded only when no call (status watches included) is running in it. A caller that kept this
/// handle past a replacement is forwarded to the shimlet now registered under the same name.
/// </summary>
internal sealed class PluginShimlet(IShimlet inner, LoadedPlugin plugin, ShimletProvider provider) : IShimlet
{
    public string Name { get; } = inner.Name;

    public LoadedPlugin Plugin { get; } = plugin;

    public Type ImplementationType => inner.GetType();

    public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken) =>
        CallAsync(s => s.ApplyAsync(spec, cancellationToken));

    public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken) =>
        CallAsync(s => s.GetStatusAsync(target, cancellationToken));

    public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken) =>
        CallAsync(async s => { await s.ScaleAsync(target, replicas, cancellationToken).ConfigureAwait(false); return true; });

    public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken) =>
        CallAsync(async s => { await s.DeleteAsync(target, cancellationToken).ConfigureAwait(false); return true; });

    public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken) =>
        CallAsync(s => s.GetLogsAsync(target, tailLines, cancellationToken));

    public async IAsyncEnumerable<ShimletStatus> WatchStatusAsync(ServiceTarget target, TimeProvider timeProvider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Plugin.TryAcquire())
        {
            await foreach (var status in Current().WatchStatusAsync(target, timeProvider, cancellationToken).ConfigureAwait(false))
            {
                yield return status;
            }

            yield break;
        }

        try
        {
            await foreach (var status in inner.WatchStatusAsync(target, timeProvider, cancellationToken).ConfigureAwait(false))
            {
                yield return status;
            }
        }
        finally
        {
            Plugin.Release();
        }
    }

    private async Task<T> CallAsync<T>(Func<IShimlet, Task<T>> call)
    {
        if (!Plugin.TryAcquire())
        {
            return await call(Current()).ConfigureAwait(false);
        }

        try
        {
            return await call(inner).ConfigureAwait(false);
        }
        finally
        {
            Plugin.Release();
        }
    }

    /// <summary>The shimlet registered under this name now (this plugin was replaced).</summary>
    private IShimlet Current() =>
        provider.Find(Name) is { } current && !ReferenceEquals(current, this)
            ? current
            : throw new InvalidOperationException($"Shimlet '{Name}' was unloaded with plugin '{Plugin.Info.Name}'.");
}
