namespace ModelServeShim.Models;

/// <summary>
/// What a model is, read from headers only (weights are never read). One shape for GGUF files and
/// Hugging Face safetensors directories so validation and memory estimates need not care which.
/// </summary>
public sealed record ModelFacts
{
    public required ModelFormat Format { get; init; }

    /// <summary>GGUF <c>general.architecture</c> (e.g. <c>llama</c>) or config.json <c>model_type</c> (e.g. <c>llama</c>).</summary>
    public required string Architecture { get; init; }

    /// <summary>config.json <c>architectures[0]</c> (e.g. <c>LlamaForCausalLM</c>); null for GGUF.</summary>
    public string? ModelClass { get; init; }

    /// <summary>Sum of the element counts of every tensor. For packed quantizations (GPTQ/AWQ int32 packing) this counts stored elements, not logical weights.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>
    /// GGUF: the <c>general.file_type</c> name (e.g. <c>Q4_K_M</c>, <c>F16</c>), or the dominant tensor type when absent.
    /// Safetensors: the <c>quantization_config.quant_method</c> when present, else the dominant tensor dtype (e.g. <c>BF16</c>).
    /// </summary>
    public required string DataType { get; init; }

    /// <summary>Maximum context the model was trained for, when the metadata says.</summary>
    public int? ContextLength { get; init; }

    public required int Layers { get; init; }

    public required int AttentionHeads { get; init; }

    /// <summary>Key/value heads (equal to <see cref="AttentionHeads"/> without grouped-query attention).</summary>
    public required int KvHeads { get; init; }

    public required int HeadDim { get; init; }

    /// <summary>Hidden (embedding) size, when known.</summary>
    public int? HiddenSize { get; init; }

    /// <summary>Bytes of tensor data, computed from tensor shapes and types (not file sizes).</summary>
    public required long WeightBytes { get; init; }

    /// <summary>Full paths of the weight files (one GGUF, or every safetensors shard).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>Tokenizer file names present (e.g. <c>tokenizer.json</c>); for GGUF the embedded tokenizer is reported as <c>gguf:tokenizer.ggml.model=llama</c>.</summary>
    public required IReadOnlyList<string> TokenizerFiles { get; init; }
}
