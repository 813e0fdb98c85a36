using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Models.Memory;

/// <summary>
/// Knobs of the memory estimate. Bindable from configuration (section <see cref="SectionName"/>). Overhead
/// covers what is not weights, KV cache or the context-dependent prefill activations: CUDA context and
/// libraries, context-independent activations, allocator fragmentation.
/// </summary>
public sealed record MemoryEstimateOptions
{
    /// <summary>The configuration section the host binds these options from.</summary>
    public const string SectionName = "Models:MemoryEstimate";

    public static MemoryEstimateOptions Default { get; } = new();

    /// <summary>Bytes per KV cache element: 2 for FP16/BF16 (default), 1 for FP8/Q8.</summary>
    [Range(0.5, 8)]
    public double KvCacheBytesPerElement { get; init; } = 2;

    /// <summary>Fixed overhead per accelerator, in bytes. Default 1 GiB (CUDA context, cuBLAS workspace, runtime).</summary>
    [Range(0, long.MaxValue)]
    public long OverheadBytesPerAccelerator { get; init; } = 1L << 30;

    /// <summary>Overhead proportional to weights + KV cache (context-independent activations, fragmentation). Default 0.05 (5 %).</summary>
    [Range(0, 1)]
    public double OverheadFraction { get; init; } = 0.05;

    /// <summary>
    /// Tokens the runtime prefills in one forward pass (its chunked-prefill size, e.g. vLLM's
    /// <c>max_num_batched_tokens</c>). Default 8192. A context shorter than this is prefilled in one chunk of its own length.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int PrefillChunkTokens { get; init; } = 8192;

    /// <summary>
    /// Transient bytes per (prefill-chunk token × context token) pair, paid on each accelerator: the attention mask
    /// and similar chunk × context tensors a runtime materialises while it prefills a chunk against the whole
    /// context. Default 4, calibrated on Hugging Face transformers (a full FP32-sized chunk × context tensor);
    /// runtimes that never materialise it (vLLM, llama.cpp with flash attention) need less: lower it, 0 turns the term off.
    /// </summary>
    [Range(0, 1024)]
    public double PrefillActivationBytesPerTokenPair { get; init; } = 4;
}
