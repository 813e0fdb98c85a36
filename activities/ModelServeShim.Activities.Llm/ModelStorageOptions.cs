using System.ComponentModel.DataAnnotations;
using ModelServeShim.Models;

namespace ModelServeShim.Activities.Llm;

/// <summary>Where models may be read from (configuration section <c>Models</c>).</summary>
public sealed class ModelStorageOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Models";

    /// <summary>
    /// Absolute directories that model paths must resolve into (after <c>..</c> and symbolic links).
    /// Relative model paths resolve against the first. Default: <c>["/models"]</c>.
    /// </summary>
    public List<string> Roots { get; set; } = [];

    /// <summary>
    /// File names of the SHA-256 manifest (sha256sum format) looked for in the model directory (for a GGUF
    /// file, the directory that holds it) when <c>verifyChecksums</c> is true. Default: <c>SHA256SUMS</c>, <c>sha256sums.txt</c>.
    /// </summary>
    public List<string> ChecksumManifestNames { get; set; } = [];

    /// <summary>Context length used when neither the request nor the model's metadata gives one. Default 4096.</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int FallbackContextLength { get; set; } = 4096;

    /// <summary>The roots, or <see cref="ModelPathResolver.DefaultRoot"/> when none is configured.</summary>
    internal IReadOnlyList<string> EffectiveRoots => Roots.Count > 0 ? Roots : [ModelPathResolver.DefaultRoot];

    /// <summary>The manifest names, or the defaults.</summary>
    internal IReadOnlyList<string> EffectiveManifestNames => ChecksumManifestNames.Count > 0 ? ChecksumManifestNames : ["SHA256SUMS", "sha256sums.txt"];
}
