using System.Reflection;
using System.Runtime.Loader;
using ModelServeShim.Abstractions;

namespace ModelServeShim.Plugins;

/// <summary>
/// A collectible context for one plugin. Dependencies resolve next to the plugin's main dll (through its
/// <c>deps.json</c>), except the contract assembly and framework assemblies: those come from the host, so
/// <c>IShimlet</c> and <c>Activity</c> in the plugin are the host's types. Assemblies are read into memory,
/// so the files can be overwritten by a newer build while this version is loaded.
/// </summary>
internal sealed class PluginLoadContext : AssemblyLoadContext
{
    private static readonly Lazy<HashSet<string>> SharedNames = new(FindSharedNames);

    private readonly AssemblyDependencyResolver _resolver;

    public PluginLoadContext(string pluginName, string mainAssemblyPath)
        : base($"plugin:{pluginName}", isCollectible: true)
    {
        MainAssemblyPath = mainAssemblyPath;
        _resolver = new AssemblyDependencyResolver(mainAssemblyPath);
    }

    public string MainAssemblyPath { get; }

    /// <summary>Whether an assembly is taken from the host instead of the plugin's folder.</summary>
    public static bool IsShared(AssemblyName name) => name.Name is { } n && SharedNames.Value.Contains(n);

    public Assembly LoadMain() => LoadFromFile(MainAssemblyPath);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (IsShared(assemblyName))
        {
            return null;
        }

        return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromFile(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;

    private Assembly LoadFromFile(string path)
    {
        using var stream = new MemoryStream(File.ReadAllBytes(path));
        return LoadFromStream(stream);
    }

    /// <summary>The contract assembly and every assembly of the shared frameworks the host runs on.</summary>
    private static HashSet<string> FindSharedNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { typeof(ContractVersion).Assembly.GetName().Name! };
        foreach (var marker in new[] { typeof(object), typeof(Microsoft.AspNetCore.Http.HttpContext) })
        {
            if (Path.GetDirectoryName(marker.Assembly.Location) is { Length: > 0 } dir)
            {
                names.UnionWith(Directory.EnumerateFiles(dir, "*.dll").Select(Path.GetFileNameWithoutExtension).OfType<string>());
            }
        }

        return names;
    }
}
