namespace ModelServeShim.Models.Memory;

/// <summary>
/// Checks an estimate against accelerator memory. Weights and KV cache are assumed split evenly across
/// accelerators (tensor parallelism); the fixed overhead and the prefill activations (the chunk × context
/// attention mask is replicated, not split by heads) are paid on each device.
/// </summary>
public static class FitCheck
{
    public static FitResult Check(
        ModelFacts facts,
        AcceleratorSpec accelerator,
        int acceleratorCount,
        int contextLength,
        int concurrentSequences = 1,
        MemoryEstimateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(acceleratorCount);
        options ??= MemoryEstimateOptions.Default;

        var estimate = MemoryEstimator.Estimate(facts, contextLength, concurrentSequences, acceleratorCount, options);
        long available = checked(accelerator.MemoryBytes * acceleratorCount);
        bool fits = estimate.TotalBytes <= available;
        return new FitResult(
            fits,
            accelerator,
            acceleratorCount,
            estimate.TotalBytes,
            available,
            fits ? 0 : estimate.TotalBytes - available,
            MaxContext(facts, accelerator, acceleratorCount, concurrentSequences, options),
            MinCount(facts, accelerator, contextLength, concurrentSequences, options),
            estimate);
    }

    /// <summary>
    /// Largest context whose estimate fits on <paramref name="count"/> devices. Binary search: the estimate grows
    /// with the context but not linearly (the prefill activations are quadratic up to the prefill chunk, then linear)
    /// and it rounds, so no closed form is exact.
    /// </summary>
    private static int MaxContext(ModelFacts facts, AcceleratorSpec accelerator, int count, int sequences, MemoryEstimateOptions options)
    {
        long available = accelerator.MemoryBytes * count;
        bool Fits(int context) => MemoryEstimator.Estimate(facts, context, sequences, count, options).TotalBytes <= available;
        int upper = facts.ContextLength ?? int.MaxValue;
        if (!Fits(0))
        {
            return 0;
        }

        if (Fits(upper))
        {
            return upper;
        }

        int lo = 0;
        int hi = upper;
        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            if (Fits(mid))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int? MinCount(ModelFacts facts, AcceleratorSpec accelerator, int context, int sequences, MemoryEstimateOptions options)
    {
        // n devices fit when: (fixed + activations) × n + (1 + fraction) × (weights + kv) ≤ memory × n.
        long perDevice = options.OverheadBytesPerAccelerator + MemoryEstimator.PrefillActivationBytesPerAccelerator(context, options);
        long perDeviceFree = accelerator.MemoryBytes - perDevice;
        if (perDeviceFree <= 0)
        {
            return null;
        }

        var one = MemoryEstimator.Estimate(facts, context, sequences, 1, options);
        long shared = one.TotalBytes - perDevice;
        long n = Math.Max(1, (shared + perDeviceFree - 1) / perDeviceFree);
        while (n < int.MaxValue && MemoryEstimator.Estimate(facts, context, sequences, (int)n, options).TotalBytes > accelerator.MemoryBytes * n)
        {
            n++;
        }

        return n > int.MaxValue ? null : (int)n;
    }
}
