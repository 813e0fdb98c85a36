using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The runtime profiles: the built-ins (<see cref="BuiltIn"/>) with <c>Runtimes:Profiles</c> merged onto
/// them, and the default runtime per model format. Profiles are data; adding a runtime is configuration.
/// </summary>
public sealed partial class RuntimeProfileCatalog
{
    /// <summary>The placeholders an argument or environment value may use.</summary>
    public static readonly IReadOnlyList<string> Placeholders =
    [
        "modelFile", "port", "contextLength", "servedModelName", "modelName", "serviceId", "format",
        "acceleratorCount", "tensorParallelSize", "gpuLayers",
    ];

    private static readonly string[] KnownFormats = ["gguf", "safetensors"];

    private readonly Dictionary<string, RuntimeProfile> _profiles;
    private readonly Dictionary<string, string> _defaults;
    private readonly Dictionary<string, Dictionary<string, string>> _shimletDefaults;

    /// <summary>Builds the catalog from options (validated at start by <see cref="RuntimeOptionsValidator"/>).</summary>
    public RuntimeProfileCatalog(IOptions<RuntimeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (profiles, defaults, errors) = Build(options.Value);
        _shimletDefaults = ShimletDefaults(options.Value);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(RuntimeOptions.SectionName, typeof(RuntimeOptions), errors);
        }

        _profiles = profiles;
        _defaults = defaults;
    }

    /// <summary>
    /// The built-in profiles. Their container images are pinned to a release (never a moving tag such as
    /// <c>latest</c> or llama.cpp's <c>server</c>), so a deployment runs the runtime these arguments were written for;
    /// upgrade with <c>Runtimes:Profiles:&lt;name&gt;:Image</c> (and <c>:AcceleratorImage</c>).
    /// </summary>
    public static IReadOnlyList<RuntimeProfile> BuiltIn { get; } =
    [
        new(
            "llama-cpp",
            ["gguf"],
            "ghcr.io/ggml-org/llama.cpp:server-b6700",
            "ghcr.io/ggml-org/llama.cpp:server-cuda-b6700",
            ["/app/llama-server"],
            ["--model", "{{ modelFile }}", "--host", "0.0.0.0", "--port", "{{ port }}", "--ctx-size", "{{ contextLength }}",
             "--alias", "{{ servedModelName }}", "-ngl", "{{ gpuLayers }}"],
            new Dictionary<string, string>(),
            8080,
            "/health",
            TimeSpan.FromMinutes(10)),
        new(
            "llama-embedded",
            ["gguf"],
            "model-serve-shim-llama",
            "model-serve-shim-llama",
            [RuntimeProfile.LlamaServerPlaceholder],
            ["--model", "{{ modelFile }}", "--port", "{{ port }}", "--host", "127.0.0.1", "--alias", "{{ servedModelName }}",
             "--ctx-size", "{{ contextLength }}", "--threads", "1"],
            new Dictionary<string, string>(),
            0,
            "/health",
            TimeSpan.FromMinutes(5),
            HostPaths: true),
        new(
            "llama-container",
            ["gguf"],
            LlamaRuntimeImage,
            LlamaRuntimeImage,
            [],
            // No --port or --host: the runtime takes PORT and HOST from the environment, which the Docker shimlet sets
            // per replica (port + i on the host network, 127.0.0.1).
            ["--model", "{{ modelFile }}", "--alias", "{{ servedModelName }}", "--ctx-size", "{{ contextLength }}", "--threads", "1"],
            new Dictionary<string, string>(),
            18080,
            "/health",
            TimeSpan.FromMinutes(5)),
        new(
            "vllm",
            ["safetensors"],
            "vllm/vllm-openai:v0.11.0",
            "vllm/vllm-openai:v0.11.0",
            [],
            ["--model", "{{ modelFile }}", "--served-model-name", "{{ servedModelName }}", "--tensor-parallel-size", "{{ tensorParallelSize }}",
             "--max-model-len", "{{ contextLength }}", "--host", "0.0.0.0", "--port", "{{ port }}"],
            new Dictionary<string, string>(),
            8000,
            "/health",
            TimeSpan.FromMinutes(20)),
        new(
            "sglang",
            ["safetensors"],
            "lmsysorg/sglang:v0.5.19-cu129",
            "lmsysorg/sglang:v0.5.19-cu129",
            ["python3", "-m", "sglang.launch_server"],
            ["--model-path", "{{ modelFile }}", "--served-model-name", "{{ servedModelName }}", "--tp", "{{ tensorParallelSize }}",
             "--context-length", "{{ contextLength }}", "--host", "0.0.0.0", "--port", "{{ port }}"],
            new Dictionary<string, string>(),
            30000,
            "/health",
            TimeSpan.FromMinutes(20)),
    ];

    /// <summary>
    /// The image of the <c>llama-container</c> profile, <c>modelserveshim/llama-runtime:&lt;project version&gt;</c>: the
    /// embedded llama.cpp runtime on a local Debian base, built by <c>scripts/build-image.sh --runtime</c> (no registry
    /// has it; docs/shimlets/docker.md).
    /// </summary>
    public static string LlamaRuntimeImage =>
        $"modelserveshim/llama-runtime:{typeof(RuntimeProfileCatalog).Assembly.GetName().Version!.ToString(3)}";

    /// <summary>The built-in default runtime per format.</summary>
    public static IReadOnlyDictionary<string, string> BuiltInDefaults { get; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["gguf"] = "llama-cpp", ["safetensors"] = "vllm" };

    /// <summary>The built-in default runtime per shimlet and format (before <see cref="BuiltInDefaults"/>).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> BuiltInShimletDefaults { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["local"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["gguf"] = "llama-embedded" },
            ["docker"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["gguf"] = "llama-container" },
        };

    /// <summary>Every profile, sorted by name.</summary>
    public IReadOnlyList<RuntimeProfile> Profiles => [.. _profiles.Values.OrderBy(p => p.Name, StringComparer.Ordinal)];

    /// <summary>Finds a profile by name (case-insensitive).</summary>
    public bool TryGet(string name, out RuntimeProfile profile) => _profiles.TryGetValue(name, out profile!);

    /// <summary>The runtime for <paramref name="format"/> on <paramref name="shimlet"/> when none is requested (<c>Runtimes:ShimletDefaults</c>), else <see cref="DefaultFor(string)"/>.</summary>
    public RuntimeProfile? DefaultFor(string format, string? shimlet) =>
        shimlet is { Length: > 0 } && _shimletDefaults.TryGetValue(shimlet, out var byFormat) && byFormat.TryGetValue(format, out var name)
            ? _profiles[name]
            : DefaultFor(format);

    /// <summary>The runtime used for <paramref name="format"/> when none is requested, or null when no profile serves it.</summary>
    public RuntimeProfile? DefaultFor(string format) =>
        _defaults.TryGetValue(format, out var name) ? _profiles[name]
        : _profiles.Values.OrderBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(p => p.Accepts(format));

    /// <summary>
    /// Renders templates: an element that is exactly one placeholder becomes the value, as one element;
    /// anything else is copied as is (validation refused any other use of braces at start).
    /// </summary>
    public static IReadOnlyList<string> Render(IReadOnlyList<string> templates, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(values);
        return [.. templates.Select(t => RenderOne(t, values))];
    }

    /// <summary>Renders one element (see <see cref="Render"/>).</summary>
    public static string RenderOne(string template, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(values);
        var match = Placeholder().Match(template);
        return match.Success ? values[match.Groups[1].Value] : template;
    }

    /// <summary>Merges the options onto the built-ins and lists every problem, naming the configuration key.</summary>
    internal static (Dictionary<string, RuntimeProfile> Profiles, Dictionary<string, string> Defaults, List<string> Errors) Build(RuntimeOptions options)
    {
        var errors = new List<string>();
        var profiles = BuiltIn.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, configured) in options.Profiles)
        {
            string key = $"{RuntimeOptions.SectionName}:Profiles:{name}";
            if (!ProfileName().IsMatch(name))
            {
                errors.Add($"{key}: a profile name is lower-case letters, digits and '-' (e.g. 'llama-cpp').");
                continue;
            }

            profiles.TryGetValue(name, out var baseProfile);
            if (baseProfile is null)
            {
                if (configured.Formats is null || string.IsNullOrWhiteSpace(configured.Image) || configured.Port is null)
                {
                    errors.Add($"{key}: a new profile needs Formats, Image and Port.");
                    continue;
                }
            }

            string image = configured.Image ?? baseProfile!.Image;
            profiles[name] = new RuntimeProfile(
                baseProfile?.Name ?? name,
                configured.Formats is { } formats ? [.. formats.Select(f => f.ToLowerInvariant())] : baseProfile!.Formats,
                image,
                configured.AcceleratorImage ?? (configured.Image is not null ? image : baseProfile!.AcceleratorImage),
                configured.Command ?? baseProfile?.Command ?? [],
                configured.Args ?? baseProfile?.Args ?? [],
                configured.Environment ?? baseProfile?.Environment ?? new Dictionary<string, string>(),
                configured.Port ?? baseProfile!.Port,
                configured.HealthPath ?? baseProfile?.HealthPath ?? "/health",
                configured.StartupTimeout ?? baseProfile?.StartupTimeout ?? TimeSpan.FromMinutes(10),
                configured.HostPaths ?? baseProfile?.HostPaths ?? false);
        }

        foreach (var profile in profiles.Values)
        {
            Check(profile, $"{RuntimeOptions.SectionName}:Profiles:{profile.Name}", errors);
        }

        var defaults = new Dictionary<string, string>(BuiltInDefaults, StringComparer.OrdinalIgnoreCase);
        foreach (var (format, name) in options.Defaults)
        {
            defaults[format] = name;
        }

        foreach (var (format, name) in defaults)
        {
            string key = $"{RuntimeOptions.SectionName}:Defaults:{format}";
            if (!KnownFormats.Contains(format, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{key}: unknown format '{format}'; use {string.Join(" or ", KnownFormats)}.");
            }
            else if (!profiles.TryGetValue(name, out var profile))
            {
                errors.Add($"{key}: no runtime profile '{name}' (known: {string.Join(", ", profiles.Keys.Order(StringComparer.Ordinal))}).");
            }
            else if (!profile.Accepts(format))
            {
                errors.Add($"{key}: profile '{name}' does not serve {format} (its Formats: {string.Join(", ", profile.Formats)}).");
            }
        }

        foreach (var (shimlet, byFormat) in ShimletDefaults(options))
        {
            foreach (var (format, name) in byFormat)
            {
                string key = $"{RuntimeOptions.SectionName}:ShimletDefaults:{shimlet}:{format}";
                if (!profiles.TryGetValue(name, out var profile))
                {
                    errors.Add($"{key}: no runtime profile '{name}' (known: {string.Join(", ", profiles.Keys.Order(StringComparer.Ordinal))}).");
                }
                else if (!profile.Accepts(format))
                {
                    errors.Add($"{key}: profile '{name}' does not serve {format} (its Formats: {string.Join(", ", profile.Formats)}).");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.QuantizedDirectory) || Path.IsPathRooted(options.QuantizedDirectory)
            || options.QuantizedDirectory.Split('/', '\\').Contains(".."))
        {
            errors.Add($"{RuntimeOptions.SectionName}:QuantizedDirectory '{options.QuantizedDirectory}' must be a relative directory inside the model root (e.g. .quantized).");
        }

        if (!options.ModelMountPath.StartsWith('/') || options.ModelMountPath.TrimEnd('/').Length == 0)
        {
            errors.Add($"{RuntimeOptions.SectionName}:ModelMountPath '{options.ModelMountPath}' must be an absolute directory other than '/'.");
        }

        if (string.IsNullOrWhiteSpace(options.DefaultCpu) || string.IsNullOrWhiteSpace(options.DefaultMemory))
        {
            errors.Add($"{RuntimeOptions.SectionName}:DefaultCpu and :DefaultMemory must not be empty.");
        }

        return (profiles, defaults, errors);
    }

    /// <summary>The built-in shimlet defaults with <c>Runtimes:ShimletDefaults</c> merged onto them (per format).</summary>
    private static Dictionary<string, Dictionary<string, string>> ShimletDefaults(RuntimeOptions options)
    {
        var merged = BuiltInShimletDefaults.ToDictionary(
            e => e.Key, e => new Dictionary<string, string>(e.Value, StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        foreach (var (shimlet, byFormat) in options.ShimletDefaults)
        {
            var target = merged.TryGetValue(shimlet, out var existing) ? existing : merged[shimlet] = new(StringComparer.OrdinalIgnoreCase);
            foreach (var (format, name) in byFormat)
            {
                target[format] = name;
            }
        }

        return merged;
    }

    private static void Check(RuntimeProfile profile, string key, List<string> errors)
    {
        if (profile.Formats.Count == 0 || profile.Formats.Any(f => !KnownFormats.Contains(f, StringComparer.Ordinal)))
        {
            errors.Add($"{key}:Formats must list one or more of {string.Join(", ", KnownFormats)} (has: {string.Join(", ", profile.Formats)}).");
        }

        if (string.IsNullOrWhiteSpace(profile.Image) || profile.Image.Any(char.IsWhiteSpace))
        {
            errors.Add($"{key}:Image must be an image reference without spaces.");
        }

        if (profile.Port is < 0 or > 65535)
        {
            errors.Add($"{key}:Port {profile.Port.ToString(CultureInfo.InvariantCulture)} must be between 1 and 65535, or 0 to let the environment choose one per replica.");
        }

        if (!profile.HealthPath.StartsWith('/'))
        {
            errors.Add($"{key}:HealthPath '{profile.HealthPath}' must start with '/'.");
        }

        if (profile.StartupTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:StartupTimeout must be positive.");
        }

        for (int i = 0; i < profile.Command.Count; i++)
        {
            if (HasBraces(profile.Command[i]) && !(i == 0 && profile.Command[i] == RuntimeProfile.LlamaServerPlaceholder))
            {
                errors.Add($"{key}:Command:{i} '{profile.Command[i]}': the command takes no placeholders (only Command:0 may be exactly {RuntimeProfile.LlamaServerPlaceholder}); put values in Args.");
            }
        }

        for (int i = 0; i < profile.Args.Count; i++)
        {
            CheckTemplate(profile.Args[i], $"{key}:Args:{i}", errors);
        }

        foreach (var (name, value) in profile.Environment)
        {
            CheckTemplate(value, $"{key}:Environment:{name}", errors);
        }
    }

    private static void CheckTemplate(string template, string key, List<string> errors)
    {
        var match = Placeholder().Match(template);
        if (match.Success)
        {
            if (!Placeholders.Contains(match.Groups[1].Value, StringComparer.Ordinal))
            {
                errors.Add($"{key}: unknown placeholder '{match.Groups[1].Value}'; known: {string.Join(", ", Placeholders)}.");
            }
        }
        else if (HasBraces(template))
        {
            errors.Add($"{key} '{template}': a placeholder must be the whole argument (e.g. \"--port\", \"{{{{ port }}}}\", not \"--port={{{{ port }}}}\"), so values are never spliced into text.");
        }
    }

    private static bool HasBraces(string text) =>
        text.Contains("{{", StringComparison.Ordinal) || text.Contains("}}", StringComparison.Ordinal);

    [GeneratedRegex(@"^\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}$", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ProfileName();
}
