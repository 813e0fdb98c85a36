namespace ModelServeShim.Models.Memory;

/// <summary>
/// Estimates serving memory: weights + KV cache + overhead, where
/// KV cache = 2 (K and V) × layers × KV heads × head dim × bytes per element × context × sequences, and
/// overhead = fixed bytes × accelerators + fraction × (weights + KV cache).
/// </summary>
public static class MemoryEstimator
{
    /// <summary>KV cache bytes for one token of one sequence.</summary>
    public static long KvCacheBytesPerToken(ModelFacts facts, double bytesPerElement = 2)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerElement);
        return checked((long)Math.Ceiling(2.0 * facts.Layers * facts.KvHeads * facts.HeadDim * bytesPerElement));
    }

    public static MemoryEstimate Estimate(ModelFacts facts, int contextLength, int concurrentSequences = 1, int acceleratorCount = 1, MemoryEstimateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentOutOfRangeException.ThrowIfNegative(contextLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrentSequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(acceleratorCount);
        options ??= MemoryEstimateOptions.Default;
        long perToken = KvCacheBytesPerToken(facts, options.KvCacheBytesPerElement);
        long kv = checked(perToken * contextLength * concurrentSequences);
        long overhead = checked((options.OverheadBytesPerAccelerator * acceleratorCount) + (long)Math.Ceiling(options.OverheadFraction * (facts.WeightBytes + kv)));
        return new MemoryEstimate(facts.WeightBytes, perToken, contextLength, concurrentSequences, kv, overhead, acceleratorCount);
    }
}
