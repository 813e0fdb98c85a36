using System.Reflection;

namespace ModelServeShim.Plugins;

/// <summary>What <c>GET /api/v1/plugins</c> and <c>POST /api/v1/plugins/load</c> report about a plugin.</summary>
/// <param name="Name">The plugin (its folder name).</param>
/// <param name="Version">The assembly's informational version.</param>
/// <param name="Path">The main dll it was loaded from.</param>
/// <param name="LoadedAt">When this version was loaded.</param>
/// <param name="Shimlets">The shimlet names it registered.</param>
/// <param name="ActivityTypes">The activity types it registered.</param>
public sealed record PluginInfo(string Name, string Version, string Path, DateTimeOffset LoadedAt, IReadOnlyList<string> Shimlets, IReadOnlyList<string> ActivityTypes);

/// <summary>
/// One loaded version of a plugin and its in-flight calls. Once retired (replaced by a newer version), its
/// context is unloaded as soon as no call through its shimlets is in flight.
/// </summary>
internal sealed class LoadedPlugin(PluginLoadContext context, Assembly assembly, PluginInfo info)
{
    private readonly Lock _gate = new();
    private int _inFlight;
    private bool _retired;
    private PluginLoadContext? _context = context;

    public PluginInfo Info { get; } = info;

    public Assembly Assembly { get; } = assembly;

    public string Source => $"plugin:{Info.Name}";

    /// <summary>A weak reference to the context, to observe that it was collected.</summary>
    public WeakReference ContextReference { get; } = new(context);

    /// <summary>Whether <see cref="System.Runtime.Loader.AssemblyLoadContext.Unload"/> was called.</summary>
    public bool UnloadRequested { get { lock (_gate) { return _context is null; } } }

    public bool IsRetired { get { lock (_gate) { return _retired; } } }

    /// <summary>Counts a call in; false once the plugin is retired (callers go to the current version).</summary>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_retired)
            {
                return false;
            }

            _inFlight++;
            return true;
        }
    }

    /// <summary>Counts a call out; unloads a retired plugin when it was the last one.</summary>
    public void Release()
    {
        PluginLoadContext? unload = null;
        lock (_gate)
        {
            _inFlight--;
            if (_retired && _inFlight == 0)
            {
                (unload, _context) = (_context, null);
            }
        }

        unload?.Unload();
    }

    /// <summary>Stops new calls and unloads the context now or when the last in-flight call returns.</summary>
    public void Retire()
    {
        PluginLoadContext? unload = null;
        lock (_gate)
        {
            _retired = true;
            if (_inFlight == 0)
            {
                (unload, _context) = (_context, null);
            }
        }

        unload?.Unload();
    }
}
