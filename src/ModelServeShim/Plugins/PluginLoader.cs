using System.Reflection;
using System.Text.RegularExpressions;
using ModelServeShim.Abstractions;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.ControlPlane;
using ModelServeShim.Workflows.Activities;

namespace ModelServeShim.Plugins;

/// <summary>
/// Loads plugins from the plugins directory into their own collectible contexts and registers their shimlets
/// and activity types. Loading a plugin again replaces the loaded version (see <see cref="LoadedPlugin"/>).
/// </summary>
public sealed partial class PluginLoader(
    PluginDirectory directory,
    ShimletProvider shimlets,
    ActivityRegistry activities,
    IServiceProvider services,
    TimeProvider time,
    ILogger<PluginLoader> logger)
{
    /// <summary>The assembly metadata key a plugin records its contract version under.</summary>
    public const string ContractVersionKey = "ModelServeShim.ContractVersion";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LoadedPlugin> _plugins = new(StringComparer.Ordinal);

    /// <summary>When the host's built-in shimlets were registered (this loader's creation).</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>The plugins directory.</summary>
    public string Directory => directory.Path;

    /// <summary>The loaded plugins, by name.</summary>
    public IReadOnlyList<PluginInfo> Plugins
    {
        get
        {
            lock (_gate)
            {
                return [.. _plugins.Values.Select(p => p.Info).OrderBy(p => p.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The plugin a registered shimlet came from, or null for a built-in one.</summary>
    public PluginInfo? OwnerOf(IShimlet shimlet) => (shimlet as PluginShimlet)?.Plugin.Info;

    /// <summary>The version of a registered shimlet's assembly.</summary>
    public static string VersionOf(IShimlet shimlet) =>
        VersionOf(((shimlet as PluginShimlet)?.ImplementationType ?? shimlet?.GetType() ?? throw new ArgumentNullException(nameof(shimlet))).Assembly);

    /// <summary>Whether a plugin name is a plain folder name (checked before touching the file system).</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Loads <c>&lt;Directory&gt;/&lt;name&gt;/&lt;name&gt;.dll</c>, replacing a loaded version of the same plugin.</summary>
    /// <exception cref="PluginLoadException">The plugin was refused; nothing changed.</exception>
    public PluginInfo Load(string name)
    {
        if (!IsValidName(name))
        {
            throw new PluginLoadException(PluginLoadError.InvalidName,
                $"'{name}' is not a plugin name: use the plugin's folder name (letters, digits, '.', '_', '-'; up to 64 characters, starting with a letter or digit).");
        }

        var folder = Path.GetFullPath(Path.Combine(directory.Path, name));
        if (!string.Equals(Path.GetDirectoryName(folder), Path.GetFullPath(directory.Path).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            throw new PluginLoadException(PluginLoadError.InvalidName, $"'{name}' does not name a folder directly inside the plugins directory.");
        }

        var mainPath = Path.Combine(folder, name + ".dll");
        if (!File.Exists(mainPath))
        {
            throw new PluginLoadException(PluginLoadError.NotFound,
                $"No plugin '{name}': expected {name}/{name}.dll in the plugins directory ({directory.Path}).");
        }

        lock (_gate)
        {
            var context = new PluginLoadContext(name, mainPath);
            try
            {
                var plugin = Register(context, name, mainPath);
                logger.LogInformation("Loaded plugin {Plugin} {Version} from {Path}: shimlets {Shimlets}, activity types {ActivityTypes}",
                    name, plugin.Info.Version, mainPath, plugin.Info.Shimlets, plugin.Info.ActivityTypes);
                return plugin.Info;
            }
            catch
            {
                context.Unload();
                throw;
            }
        }
    }

    /// <summary>The loaded version of a plugin (tests observe unloading through it).</summary>
    internal LoadedPlugin? Find(string name)
    {
        lock (_gate)
        {
            return _plugins.GetValueOrDefault(name);
        }
    }

    private LoadedPlugin Register(PluginLoadContext context, string name, string mainPath)
    {
        Assembly assembly;
        Type[] exported;
        try
        {
            assembly = context.LoadMain();
            exported = assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException or TypeLoadException or ReflectionTypeLoadException)
        {
            throw new PluginLoadException(PluginLoadError.BadImage, $"Plugin '{name}' could not be loaded: {e.Message}", e);
        }

        CheckContract(assembly, name);
        var source = $"plugin:{name}";
        _plugins.TryGetValue(name, out var previous);

        // Refuse names owned by the host or another plugin before anything is created or registered.
        var activityTypes = exported
            .Where(t => t is { IsAbstract: false, IsClass: true } && typeof(Activity).IsAssignableFrom(t))
            .Select(t => t.GetCustomAttribute<ActivityAttribute>()?.Type)
            .OfType<string>()
            .ToList();
        foreach (var type in activityTypes)
        {
            if (activities.TryGet(type, out var existing) && existing.Source != source)
            {
                throw new PluginLoadException(PluginLoadError.Conflict,
                    $"Plugin '{name}' brings activity type '{type}', which '{existing.Source}' already provides. Rename the type or unload '{existing.Source}'.");
            }
        }

        var created = new List<IShimlet>();
        try
        {
            foreach (var type in exported.Where(t => t is { IsAbstract: false, IsClass: true } && typeof(IShimlet).IsAssignableFrom(t)))
            {
                created.Add((IShimlet)ActivatorUtilities.CreateInstance(services, type));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FileLoadException or FileNotFoundException or TypeLoadException or TargetInvocationException or MissingMethodException)
        {
            throw new PluginLoadException(PluginLoadError.BadImage, $"Plugin '{name}': a shimlet could not be created: {(e as TargetInvocationException)?.InnerException?.Message ?? e.Message}", e);
        }

        if (created.Count == 0 && activityTypes.Count == 0)
        {
            throw new PluginLoadException(PluginLoadError.BadImage, $"Plugin '{name}' has no public IShimlet or [Activity] type: there is nothing to load.");
        }

        foreach (var group in created.GroupBy(s => s.Name, StringComparer.Ordinal))
        {
            if (group.Count() > 1)
            {
                throw new PluginLoadException(PluginLoadError.Conflict, $"Plugin '{name}' has {group.Count()} shimlets named '{group.Key}'.");
            }

            if (shimlets.Find(group.Key) is { } existing && (existing as PluginShimlet)?.Plugin.Info.Name != name)
            {
                var owner = existing is PluginShimlet p ? p.Plugin.Source : "builtin";
                throw new PluginLoadException(PluginLoadError.Conflict,
                    $"Plugin '{name}' brings shimlet '{group.Key}', which '{owner}' already provides. Rename the shimlet or unload '{owner}'.");
            }
        }

        // Activity types: the new version's descriptors replace the old ones of the same source. Types the old
        // version had and the new one lacks are dropped by re-registering the source from scratch.
        IReadOnlyList<ActivityDescriptor> descriptors;
        try
        {
            descriptors = activities.AddAssembly(assembly, source);
            var stale = previous?.Info.ActivityTypes.Except(descriptors.Select(d => d.Type), StringComparer.Ordinal).Any() ?? false;
            if (stale)
            {
                activities.RemoveSource(source);
                descriptors = activities.AddAssembly(assembly, source);
            }
        }
        catch (InvalidOperationException e)
        {
            throw new PluginLoadException(PluginLoadError.BadImage, $"Plugin '{name}' has an invalid activity type: {e.Message}", e);
        }

        var info = new PluginInfo(name, VersionOf(assembly), mainPath, time.GetUtcNow(),
            [.. created.Select(s => s.Name).Order(StringComparer.Ordinal)],
            [.. descriptors.Select(d => d.Type).Order(StringComparer.Ordinal)]);
        var plugin = new LoadedPlugin(context, assembly, info);
        foreach (var shimlet in created)
        {
            shimlets.Register(new PluginShimlet(shimlet, plugin, shimlets));
        }

        _plugins[name] = plugin;
        if (previous is not null)
        {
            foreach (var gone in previous.Info.Shimlets.Except(info.Shimlets, StringComparer.Ordinal))
            {
                shimlets.Remove(gone);
            }

            previous.Retire();
            logger.LogInformation("Plugin {Plugin} {OldVersion} replaced by {Version}; its context unloads when its last in-flight call returns",
                name, previous.Info.Version, info.Version);
        }

        return plugin;
    }

    private static void CheckContract(Assembly assembly, string name)
    {
        var declared = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == ContractVersionKey)?.Value;
        int major;
        string described;
        if (declared is not null)
        {
            if (!Version.TryParse(declared.Contains('.', StringComparison.Ordinal) ? declared : declared + ".0", out var v))
            {
                throw new PluginLoadException(PluginLoadError.ContractMismatch,
                    $"Plugin '{name}' declares contract version '{declared}', which is not a version: use [assembly: AssemblyMetadata(\"{ContractVersionKey}\", \"{ContractVersion.Major}.{ContractVersion.Minor}\")].");
            }

            major = v.Major;
            described = $"contract version {declared}";
        }
        else
        {
            var contractName = typeof(ContractVersion).Assembly.GetName();
            var reference = assembly.GetReferencedAssemblies().FirstOrDefault(r => r.Name == contractName.Name)
                ?? throw new PluginLoadException(PluginLoadError.ContractMismatch,
                    $"Plugin '{name}' does not reference {contractName.Name}: it is not built against the plugin contract.");
            var hostMajor = contractName.Version?.Major ?? 0;
            var pluginMajor = reference.Version?.Major ?? 0;
            if (pluginMajor != hostMajor)
            {
                throw new PluginLoadException(PluginLoadError.ContractMismatch,
                    $"Plugin '{name}' references {contractName.Name} {reference.Version}; the host has {contractName.Version}. Rebuild the plugin against this version.");
            }

            return;
        }

        if (major != ContractVersion.Major)
        {
            throw new PluginLoadException(PluginLoadError.ContractMismatch,
                $"Plugin '{name}' was built for {described}; this host implements contract {ContractVersion.Major}.{ContractVersion.Minor}. Rebuild the plugin against ModelServeShim.Abstractions {ContractVersion.Major}.x.");
        }
    }

    private static string VersionOf(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
