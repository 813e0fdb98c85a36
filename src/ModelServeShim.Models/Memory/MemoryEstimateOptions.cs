using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Models.Memory;

/// <summary>
/// Knobs of the memory estimate. Bindable from configuration. Overhead covers what is not weights or KV
/// cache: CUDA context and libraries, activations, allocator fragmentation.
/// </summary>
public sealed record MemoryEstimateOptions
{
    public static MemoryEstimateOptions Default { get; } = new();

    /// <summary>Bytes per KV cache element: 2 for FP16/BF16 (default), 1 for FP8/Q8.</summary>
    [Range(0.5, 8)]
    public double KvCacheBytesPerElement { get; init; } = 2;

    /// <summary>Fixed overhead per accelerator, in bytes. Default 1 GiB (CUDA context, cuBLAS workspace, runtime).</summary>
    [Range(0, long.MaxValue)]
    public long OverheadBytesPerAccelerator { get; init; } = 1L << 30;

    /// <summary>Overhead proportional to weights + KV cache (activations, fragmentation). Default 0.05 (5 %).</summary>
    [Range(0, 1)]
    public double OverheadFraction { get; init; } = 0.05;
}
