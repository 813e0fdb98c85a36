namespace ModelServeShim.Activities.Llm;

/// <summary>
/// Finds the embedded llama.cpp runtime, <c>model-serve-shim-llama</c>: <c>Runtimes:LlamaServerPath</c> when set, else
/// next to the host (<c>runtime/llama/</c> under <see cref="AppContext.BaseDirectory"/>, where the host's build copies
/// it, then the base directory itself), else on <c>PATH</c>. The apphost is preferred; a folder holding only
/// <c>model-serve-shim-llama.dll</c> runs as <c>dotnet &lt;dll&gt;</c>.
/// </summary>
public static class LlamaServerLocator
{
    /// <summary>The executable's name.</summary>
    public const string ExecutableName = "model-serve-shim-llama";

    /// <summary>Where the host's build puts the runtime, relative to the host's folder.</summary>
    public static readonly string BundledDirectory = Path.Combine("runtime", "llama");

    /// <summary>The argv prefix that starts the runtime (one element for the apphost, two for <c>dotnet &lt;dll&gt;</c>), or null when not found.</summary>
    public static IReadOnlyList<string>? TryLocate(string? configuredPath, string? baseDirectory = null)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            return FromFile(Path.GetFullPath(configuredPath));
        }

        string root = baseDirectory ?? AppContext.BaseDirectory;
        foreach (string directory in (string[])[Path.Combine(root, BundledDirectory), root])
        {
            if (FromFile(Path.Combine(directory, ExecutableName)) is { } found)
            {
                return found;
            }
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, ExecutableName);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return [candidate];
            }
        }

        return null;
    }

    /// <summary>Where <see cref="TryLocate"/> looked, for error messages.</summary>
    public static string Describe(string? configuredPath) =>
        !string.IsNullOrWhiteSpace(configuredPath)
            ? $"{RuntimeOptions.SectionName}:LlamaServerPath '{configuredPath}'"
            : $"{Path.Combine(AppContext.BaseDirectory, BundledDirectory, ExecutableName)}, {Path.Combine(AppContext.BaseDirectory, ExecutableName)} and PATH";

    private static List<string>? FromFile(string path)
    {
        if (File.Exists(path) && !path.EndsWith(".dll", StringComparison.Ordinal) && IsExecutable(path))
        {
            return [path];
        }

        string dll = path.EndsWith(".dll", StringComparison.Ordinal) ? path : path + ".dll";
        return File.Exists(dll) && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")) ? [DotnetHost(), dll] : null;
    }

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current
        : "dotnet";
}
