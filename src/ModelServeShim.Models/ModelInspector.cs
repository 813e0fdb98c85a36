using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.HuggingFace;

namespace ModelServeShim.Models;

/// <summary>Describes a model on disk from its headers, whatever its format.</summary>
public static class ModelInspector
{
    /// <summary>What <see cref="InspectAsync"/> accepts, for error messages and help text.</summary>
    public const string SupportedFormats = "a .gguf file (llama.cpp), or a Hugging Face model directory with config.json and model.safetensors or model.safetensors.index.json";

    /// <summary>
    /// Inspects a <c>.gguf</c> file or a Hugging Face safetensors directory. Reads headers only. The path is
    /// used as given: confine user input with <see cref="ModelPathResolver"/> first.
    /// </summary>
    /// <exception cref="ModelFormatException">Carries a <see cref="ModelErrorCode"/> and the offending path.</exception>
    public static async Task<ModelFacts> InspectAsync(string path, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ModelFormatException(ModelErrorCode.InvalidPath, path ?? string.Empty, $"No model path was given. Give {SupportedFormats}.");
        }

        if (Directory.Exists(path))
        {
            return (await HuggingFaceInspector.InspectAsync(path, cancellationToken)).Facts;
        }

        if (!File.Exists(path))
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, path, $"'{path}' does not exist. Give {SupportedFormats}.");
        }

        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            // Header parsing is synchronous buffered I/O over small reads; keep it off the caller's thread.
            return await Task.Run(() => GgufModelFacts.Inspect(path, cancellationToken: cancellationToken), cancellationToken);
        }

        string hint = Path.GetFileName(path) switch
        {
            HuggingFaceInspector.ConfigFileName or HuggingFaceInspector.IndexFileName => " Give the directory that contains it instead.",
            var name when name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) => " A safetensors file needs its config.json: give the directory that contains both.",
            _ => string.Empty,
        };
        throw new ModelFormatException(ModelErrorCode.UnsupportedFormat, path, $"'{path}' is not a supported model. Supported: {SupportedFormats}.{hint}");
    }
}
