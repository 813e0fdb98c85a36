using ModelServeShim.Models.Memory;

namespace ModelServeShim.Models.Tests.Memory;

public sealed class FitCheckTests
{
    /// <summary>
    /// Meta-Llama-3.1-8B as its config.json and safetensors describe it: 8,030,261,248 BF16 parameters
    /// (≈ 16.06 GB of weights), 32 layers, 32 heads, 8 KV heads, head size 128, 131072-token context.
    /// Built directly: writing 16 GB of shards for a test is not an option.
    /// </summary>
    private static readonly ModelFacts Llama31_8B = new()
    {
        Format = ModelFormat.Safetensors,
        Architecture = "llama",
        ModelClass = "LlamaForCausalLM",
        ParameterCount = 8_030_261_248,
        DataType = "BF16",
        ContextLength = 131_072,
        Layers = 32,
        AttentionHeads = 32,
        KvHeads = 8,
        HeadDim = 128,
        HiddenSize = 4096,
        WeightBytes = 8_030_261_248L * 2,
        Files = [],
        TokenizerFiles = ["tokenizer.json"],
    };

    /// <summary>The defaults, spelled out so the arithmetic below stays checkable if the defaults change.</summary>
    private static readonly MemoryEstimateOptions Options = new()
    {
        KvCacheBytesPerElement = 2,
        OverheadBytesPerAccelerator = 1L << 30,
        OverheadFraction = 0.05,
    };

    [Fact]
    public void KvCache_Llama31_8B_Is128KiBPerToken()
    {
        // 2 (K, V) × 32 layers × 8 KV heads × 128 head dim × 2 bytes.
        Assert.Equal(131_072, MemoryEstimator.KvCacheBytesPerToken(Llama31_8B));
    }

    [Fact]
    public void Estimate_Llama31_8BAtFullContext_SumsWeightsKvAndOverhead()
    {
        var estimate = MemoryEstimator.Estimate(Llama31_8B, contextLength: 131_072, concurrentSequences: 1, acceleratorCount: 1, Options);

        Assert.Equal(16_060_522_496, estimate.WeightBytes);
        Assert.Equal(17_179_869_184, estimate.KvCacheBytes); // 128 KiB × 128 Ki tokens = 16 GiB
        Assert.Equal(1_073_741_824L + 1_662_019_584L, estimate.OverheadBytes); // 1 GiB + 5 % of 33,240,391,680
        Assert.Equal(35_976_153_088, estimate.TotalBytes);
    }

    [Fact]
    public void Check_Llama31_8BAtFullContextOnOneH20_Fits()
    {
        var h20 = AcceleratorCatalog.Default.Get("NVIDIA H20");

        var result = FitCheck.Check(Llama31_8B, h20, acceleratorCount: 1, contextLength: 131_072, concurrentSequences: 1, Options);

        Assert.True(result.Fits);
        Assert.Equal(96_000_000_000, result.AvailableBytes);
        Assert.Equal(0, result.ExceedsByBytes);
        Assert.Equal(131_072, result.MaxContextLength); // capped at the model's own context
        Assert.Equal(1, result.MinAcceleratorCount);
    }

    [Fact]
    public void Check_Llama31_8BAtFullContextOnOneL4_DoesNotFitAndSuggestsContextAndCount()
    {
        var l4 = AcceleratorCatalog.Default.Get("nvidia l4");

        var result = FitCheck.Check(Llama31_8B, l4, acceleratorCount: 1, contextLength: 131_072, concurrentSequences: 1, Options);

        Assert.False(result.Fits);
        Assert.Equal(24_000_000_000, result.AvailableBytes);
        Assert.Equal(35_976_153_088, result.RequiredBytes);
        Assert.Equal(11_976_153_088, result.ExceedsByBytes);
        // 1 GiB + 1.05 × (16,060,522,496 + 131,072 × c) ≤ 24 × 10^9  ⇔  c ≤ 44,052.4
        Assert.Equal(44_052, result.MaxContextLength);
        // 2 × 1 GiB + 1.05 × 33,240,391,680 = 37.05 GB ≤ 48 GB, while one L4 is 24 GB.
        Assert.Equal(2, result.MinAcceleratorCount);
    }

    [Fact]
    public void Check_SuggestedMaxContext_IsExactlyTheBoundary()
    {
        var l4 = AcceleratorCatalog.Default.Get("NVIDIA L4");

        Assert.True(FitCheck.Check(Llama31_8B, l4, 1, 44_052, 1, Options).Fits);
        Assert.False(FitCheck.Check(Llama31_8B, l4, 1, 44_053, 1, Options).Fits);
        Assert.True(FitCheck.Check(Llama31_8B, l4, 2, 131_072, 1, Options).Fits);
    }

    [Fact]
    public void Check_ConcurrentSequences_MultiplyKvCache()
    {
        var h100 = AcceleratorCatalog.Default.Get("NVIDIA H100");

        var result = FitCheck.Check(Llama31_8B, h100, 1, 131_072, concurrentSequences: 4, Options);

        Assert.Equal(4 * 17_179_869_184L, result.Estimate.KvCacheBytes);
        Assert.False(result.Fits);
        Assert.Equal(2, result.MinAcceleratorCount);
    }

    [Fact]
    public void Check_WeightsAloneTooBig_ReportsZeroMaxContext()
    {
        var tiny = new AcceleratorSpec("Tiny", 8);

        var result = FitCheck.Check(Llama31_8B, tiny, 1, 4096, 1, Options);

        Assert.False(result.Fits);
        Assert.Equal(0, result.MaxContextLength);
        Assert.NotNull(result.MinAcceleratorCount);
    }

    [Fact]
    public void Estimate_Fp8KvCache_HalvesPerTokenBytes()
    {
        var estimate = MemoryEstimator.Estimate(Llama31_8B, 1000, options: Options with { KvCacheBytesPerElement = 1 });

        Assert.Equal(65_536, estimate.KvCacheBytesPerToken);
    }
}
