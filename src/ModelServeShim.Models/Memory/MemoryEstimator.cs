namespace ModelServeShim.Models.Memory;

/// <summary>
/// Estimates serving memory: weights + KV cache + prefill activations + overhead, where
/// KV cache = 2 (K and V) × layers × KV heads × head dim × bytes per element × context × sequences,
/// prefill activations = accelerators × bytes per token pair × min(prefill chunk, context) × context, and
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

    /// <summary>
    /// Transient prefill bytes on one accelerator that grow with the context: a chunk of
    /// min(<see cref="MemoryEstimateOptions.PrefillChunkTokens"/>, context) tokens attends to the whole context, and
    /// the runtime materialises chunk × context tensors (the attention mask) of
    /// <see cref="MemoryEstimateOptions.PrefillActivationBytesPerTokenPair"/> bytes per element. The tokens of one
    /// forward pass are bounded by the chunk whatever the number of sequences, so concurrency does not multiply it.
    /// </summary>
    public static long PrefillActivationBytesPerAccelerator(int contextLength, MemoryEstimateOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(contextLength);
        options ??= MemoryEstimateOptions.Default;
        long chunk = Math.Min(options.PrefillChunkTokens, contextLength);
        return checked((long)Math.Ceiling(options.PrefillActivationBytesPerTokenPair * chunk * contextLength));
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
        long activations = checked(PrefillActivationBytesPerAccelerator(contextLength, options) * acceleratorCount);
        long overhead = checked((options.OverheadBytesPerAccelerator * acceleratorCount) + (long)Math.Ceiling(options.OverheadFraction * (facts.WeightBytes + kv)));
        return new MemoryEstimate(facts.WeightBytes, perToken, contextLength, concurrentSequences, kv, activations, overhead, acceleratorCount);
    }
}
