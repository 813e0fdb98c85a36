namespace ModelServeShim.Activities.Llm;

/// <summary>Serving runtime profiles and rendering defaults (configuration section <c>Runtimes</c>).</summary>
public sealed class RuntimeOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Runtimes";

    /// <summary>
    /// Profiles by name (case-insensitive). A name of a built-in profile (<c>llama-cpp</c>, <c>vllm</c>,
    /// <c>sglang</c>) overrides only the fields it sets; a new name adds a profile and must set
    /// <c>Formats</c>, <c>Image</c> and <c>Port</c>.
    /// </summary>
    public Dictionary<string, RuntimeProfileOptions> Profiles { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Runtime chosen for a format when the request names none: format → profile name. Built in: gguf → llama-cpp, safetensors → vllm.</summary>
    public Dictionary<string, string> Defaults { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Runtime chosen per shimlet and format when the request names none, before <see cref="Defaults"/>:
    /// shimlet → format → profile name. Built in: <c>local</c> → gguf → <c>llama-embedded</c>.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> ShimletDefaults { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The embedded llama.cpp runtime (<c>model-serve-shim-llama</c> or its <c>.dll</c>); empty: next to the host
    /// (<c>runtime/llama/</c>), else on <c>PATH</c>. Used by <c>llama-embedded</c> and by model-quantization.
    /// </summary>
    public string? LlamaServerPath { get; set; }

    /// <summary>Directory, relative to the model's root, that model-quantization writes into. Default <c>.quantized</c>.</summary>
    public string QuantizedDirectory { get; set; } = ".quantized";

    /// <summary>Where the model root appears inside containers (read-only). Default <c>/models</c>.</summary>
    public string ModelMountPath { get; set; } = "/models";

    /// <summary>CPU per replica when the request's resources give none (a Kubernetes quantity). Default <c>2</c>.</summary>
    public string DefaultCpu { get; set; } = "2";

    /// <summary>Memory per replica when the request's resources give none (a Kubernetes quantity). Default <c>8Gi</c>.</summary>
    public string DefaultMemory { get; set; } = "8Gi";
}

/// <summary>
/// One runtime profile as configured. Every field is optional so that configuring a built-in profile
/// overrides only what is set (lists replace, they do not append).
/// </summary>
public sealed class RuntimeProfileOptions
{
    /// <summary>Model formats the runtime serves: <c>gguf</c>, <c>safetensors</c>.</summary>
    public List<string>? Formats { get; set; }

    /// <summary>The container image.</summary>
    public string? Image { get; set; }

    /// <summary>The image used instead when the service has accelerators (e.g. a CUDA build); default <see cref="Image"/>.</summary>
    public string? AcceleratorImage { get; set; }

    /// <summary>The program (container entrypoint); empty keeps the image's entrypoint. No placeholders.</summary>
    public List<string>? Command { get; set; }

    /// <summary>
    /// Argument templates. Each element is either literal text or exactly one placeholder such as
    /// <c>{{ modelFile }}</c>, replaced by the value as a whole argument (never joined into a shell line).
    /// </summary>
    public List<string>? Args { get; set; }

    /// <summary>Environment variables; a value may be exactly one placeholder.</summary>
    public Dictionary<string, string>? Environment { get; set; }

    /// <summary>The port the runtime listens on; 0 lets the environment choose one per replica (the local shimlet), leaving <c>{{ port }}</c> for it to fill.</summary>
    public int? Port { get; set; }

    /// <summary>The runtime runs on the host and reads the model at its host path (no <c>ModelMountPath</c> translation).</summary>
    public bool? HostPaths { get; set; }

    /// <summary>The health path, starting with '/'.</summary>
    public string? HealthPath { get; set; }

    /// <summary>How long the runtime may take to start before the environment's probes fail it.</summary>
    public TimeSpan? StartupTimeout { get; set; }
}

/// <summary>Health check polling (configuration section <c>HealthCheck</c>).</summary>
public sealed class HealthCheckOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "HealthCheck";

    /// <summary>
    /// Longest wait between HTTP probes while the environment says Running but the service does not answer yet. The
    /// waits start at <see cref="ProbeInitialInterval"/> and grow by <see cref="ProbeBackoffMultiplier"/> up to this.
    /// Default 5 s.
    /// </summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// First wait before probing again after a probe failed (and again after each status change), so a runtime that
    /// answers shortly after the environment calls it Running is noticed within tens of milliseconds. Default 50 ms.
    /// </summary>
    public TimeSpan ProbeInitialInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Factor between consecutive probe waits, from <see cref="ProbeInitialInterval"/> up to <see cref="ProbeInterval"/>. Default 2.</summary>
    public double ProbeBackoffMultiplier { get; set; } = 2;

    /// <summary>Timeout of one HTTP probe. Default 10 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
