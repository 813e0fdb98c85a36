namespace ModelServeShim.Models.Memory;

/// <summary>Bytes a model needs to serve a given context, summed over all accelerators.</summary>
/// <param name="WeightBytes">Real tensor bytes.</param>
/// <param name="KvCacheBytesPerToken">2 × layers × KV heads × head dim × bytes per element.</param>
/// <param name="ContextLength">Tokens per sequence.</param>
/// <param name="ConcurrentSequences">Sequences served at once.</param>
/// <param name="KvCacheBytes">KV cache per token × context × sequences.</param>
/// <param name="ActivationBytes">Prefill activations that grow with the context: bytes per token pair × min(prefill chunk, context) × context, on each accelerator.</param>
/// <param name="OverheadBytes">Fixed overhead × accelerators + fraction × (weights + KV cache).</param>
/// <param name="AcceleratorCount">Accelerators the fixed overhead and the activations were counted for.</param>
public sealed record MemoryEstimate(
    long WeightBytes,
    long KvCacheBytesPerToken,
    int ContextLength,
    int ConcurrentSequences,
    long KvCacheBytes,
    long ActivationBytes,
    long OverheadBytes,
    int AcceleratorCount)
{
    public long TotalBytes => WeightBytes + KvCacheBytes + ActivationBytes + OverheadBytes;
}
