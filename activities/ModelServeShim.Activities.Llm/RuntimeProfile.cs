namespace ModelServeShim.Activities.Llm;

/// <summary>A serving runtime profile, after configuration was merged onto the built-ins.</summary>
/// <param name="Name">The profile name (e.g. <c>llama-cpp</c>).</param>
/// <param name="Formats">Model formats it serves (lower case: <c>gguf</c>, <c>safetensors</c>).</param>
/// <param name="Image">Container image.</param>
/// <param name="AcceleratorImage">Image used when the service has accelerators.</param>
/// <param name="Command">Entrypoint; empty keeps the image's.</param>
/// <param name="Args">Argument templates: literal text or exactly one <c>{{ placeholder }}</c> per element.</param>
/// <param name="Environment">Environment variables; a value may be exactly one placeholder.</param>
/// <param name="Port">The port it listens on.</param>
/// <param name="HealthPath">Its health path.</param>
/// <param name="StartupTimeout">How long it may take to start.</param>
/// <param name="HostPaths">The runtime reads the model at its host path (no container mount).</param>
public sealed record RuntimeProfile(
    string Name,
    IReadOnlyList<string> Formats,
    string Image,
    string AcceleratorImage,
    IReadOnlyList<string> Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    int Port,
    string HealthPath,
    TimeSpan StartupTimeout,
    bool HostPaths = false)
{
    /// <summary>The <see cref="Command"/> element replaced by the embedded llama.cpp runtime's path (<see cref="LlamaServerLocator"/>).</summary>
    public const string LlamaServerPlaceholder = "{{ llamaServer }}";

    /// <summary>Whether it serves <paramref name="format"/>.</summary>
    public bool Accepts(string format) => Formats.Contains(format, StringComparer.OrdinalIgnoreCase);
}
