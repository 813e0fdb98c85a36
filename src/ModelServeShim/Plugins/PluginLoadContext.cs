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

    /// <summary>
    /// The contract assembly and every assembly of the shared frameworks the host runs on, by name, read from the
    /// runtime's trusted platform assembly list (no file of the host is opened, so this works from a single-file
    /// binary, whose assemblies live inside the bundle): a framework-dependent host's framework assemblies are the
    /// entries outside the host's folder; a self-contained host carries the frameworks in its folder or bundle, so
    /// there the framework's own names (<c>System.*</c>, <c>Microsoft.AspNetCore.*</c>, <c>Microsoft.Extensions.*</c>, …)
    /// that the host actually carries are shared. Returning null from <see cref="Load"/> for them lets the default
    /// context resolve the host's copy.
    /// </summary>
    private static HashSet<string> FindSharedNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { typeof(ContractVersion).Assembly.GetName().Name! };
        var hostDirectory = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        var trusted = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in trusted)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            var inHostFolder = string.Equals(Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(path) ?? ""), hostDirectory, StringComparison.Ordinal);
            if (!inHostFolder || IsFrameworkName(name))
            {
                names.Add(name);
            }
        }

        // Loaded framework assemblies always count (a host where the list above is unavailable still shares them).
        foreach (var assembly in Default.Assemblies)
        {
            if (assembly.GetName().Name is { } name && IsFrameworkName(name))
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>Names that belong to the Microsoft.NETCore.App and Microsoft.AspNetCore.App shared frameworks.</summary>
    private static bool IsFrameworkName(string name) =>
        name is "mscorlib" or "netstandard" or "System" or "WindowsBase" or "Microsoft.CSharp" or "Microsoft.VisualBasic" or "Microsoft.VisualBasic.Core"
            or "Microsoft.Net.Http.Headers" or "Microsoft.JSInterop"
        || name.StartsWith("System.", StringComparison.Ordinal)
        || name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal)
        || name.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal)
        || name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);
}
