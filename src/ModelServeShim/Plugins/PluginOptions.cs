using Microsoft.Extensions.Options;
using ModelServeShim.Hosting;

namespace ModelServeShim.Plugins;

/// <summary>Where plugins are loaded from (section <c>Plugins</c>).</summary>
public sealed class PluginOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Plugins";

    /// <summary>The default folder, relative to the data directory.</summary>
    public const string DefaultDirectory = "plugins-bin";

    /// <summary>
    /// The plugins directory: one folder per plugin, <c>&lt;Directory&gt;/&lt;name&gt;/&lt;name&gt;.dll</c>.
    /// Default <c>plugins-bin</c>; a relative path resolves against <c>ModelServeShim:DataDir</c>.
    /// </summary>
    public string Directory { get; set; } = DefaultDirectory;

    /// <summary>The directory, absolute: relative paths resolve against the data directory.</summary>
    public string FullPath(string dataDirFullPath) => Path.GetFullPath(Path.Combine(dataDirFullPath, Directory));
}

/// <summary>Checks <see cref="PluginOptions"/> at start.</summary>
public sealed class PluginOptionsValidator : IValidateOptions<PluginOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PluginOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            return ValidateOptionsResult.Fail($"Plugins:Directory must name a folder (default '{PluginOptions.DefaultDirectory}' under ModelServeShim:DataDir).");
        }

        if (options.Directory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return ValidateOptionsResult.Fail($"Plugins:Directory '{options.Directory}' is not a valid path.");
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>The plugins directory, resolved once from the options and the data directory.</summary>
/// <param name="Path">The absolute path (it may not exist yet: then no plugin can be loaded).</param>
public sealed record PluginDirectory(string Path)
{
    /// <summary>Resolves the directory from the bound options.</summary>
    public static PluginDirectory From(IOptions<PluginOptions> plugins, IOptions<ShimOptions> shim) =>
        new(plugins.Value.FullPath(shim.Value.DataDirFullPath));
}
