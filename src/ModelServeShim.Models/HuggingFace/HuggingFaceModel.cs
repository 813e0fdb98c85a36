using ModelServeShim.Models.Safetensors;

namespace ModelServeShim.Models.HuggingFace;

/// <summary>An inspected Hugging Face model directory.</summary>
public sealed record HuggingFaceModel(
    string Directory,
    HuggingFaceConfig Config,
    IReadOnlyList<SafetensorsFile> Shards,
    bool IsSharded,
    IReadOnlyList<string> TokenizerFiles,
    ModelFacts Facts);
