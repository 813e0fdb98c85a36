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

    /// <summary>
    /// Qwen2.5-7B as its config.json and safetensors describe it: 7,615,616,512 BF16 parameters (untied embeddings),
    /// 28 layers, 28 heads, 4 KV heads, head size 128, hidden 3584, 131072-token context.
    /// </summary>
    private static readonly ModelFacts Qwen25_7B = new()
    {
        Format = ModelFormat.Safetensors,
        Architecture = "qwen2",
        ModelClass = "Qwen2ForCausalLM",
        ParameterCount = 7_615_616_512,
        DataType = "BF16",
        ContextLength = 131_072,
        Layers = 28,
        AttentionHeads = 28,
        KvHeads = 4,
        HeadDim = 128,
        HiddenSize = 3584,
        WeightBytes = 7_615_616_512L * 2,
        Files = [],
        TokenizerFiles = ["tokenizer.json"],
    };

    /// <summary>The defaults, spelled out so the arithmetic below stays checkable if the defaults change.</summary>
    private static readonly MemoryEstimateOptions Options = new()
    {
        KvCacheBytesPerElement = 2,
        OverheadBytesPerAccelerator = 1L << 30,
        OverheadFraction = 0.05,
        PrefillChunkTokens = 8192,
        PrefillActivationBytesPerTokenPair = 4,
    };

    /// <summary>The estimate before the prefill activation term existed.</summary>
    private static readonly MemoryEstimateOptions WithoutActivations = Options with { PrefillActivationBytesPerTokenPair = 0 };

    /// <summary>
    /// Issue #17's measurements on one NVIDIA H200: Hugging Face transformers 5.17, BF16, chunked prefill of 8,192 tokens,
    /// peak allocated + CUDA context (0.6 GiB), in GiB. The defaults must stay within ±5 % of each.
    /// </summary>
    public static TheoryData<string, int, double> MeasuredOnH200 => new()
    {
        { "Llama-3.1-8B", 8_192, 17.50 },
        { "Llama-3.1-8B", 32_768, 21.16 },
        { "Llama-3.1-8B", 131_072, 36.91 },
        { "Qwen2.5-7B", 8_192, 16.39 },
        { "Qwen2.5-7B", 32_768, 18.08 },
        { "Qwen2.5-7B", 131_072, 26.89 },
    };

    [Theory]
    [MemberData(nameof(MeasuredOnH200))]
    public void Estimate_WithDefaults_IsWithin5PercentOfMeasuredNeed(string model, int contextLength, double measuredGib)
    {
        var facts = model.StartsWith("Llama", StringComparison.Ordinal) ? Llama31_8B : Qwen25_7B;

        var estimate = MemoryEstimator.Estimate(facts, contextLength, concurrentSequences: 1, acceleratorCount: 1, MemoryEstimateOptions.Default);

        double estimateGib = estimate.TotalBytes / (double)(1L << 30);
        double relativeError = (estimateGib - measuredGib) / measuredGib;
        Assert.True(Math.Abs(relativeError) <= 0.05, $"{model} at {contextLength} tokens: estimated {estimateGib:0.00} GiB, measured {measuredGib:0.00} GiB ({relativeError:P1})");
    }

    [Fact]
    public void Estimate_ActivationTerm_GrowsWithContextAndChunk()
    {
        long Activations(int context, int chunk) =>
            MemoryEstimator.Estimate(Llama31_8B, context, options: Options with { PrefillChunkTokens = chunk }).ActivationBytes;

        Assert.Equal(4L * 8192 * 131_072, Activations(131_072, 8192)); // 4 bytes × chunk × context = 4 GiB
        Assert.True(Activations(32_768, 8192) < Activations(131_072, 8192));
        Assert.True(Activations(131_072, 2048) < Activations(131_072, 8192));
        // A context shorter than the chunk is prefilled in one chunk of its own length.
        Assert.Equal(4L * 1000 * 1000, Activations(1000, 8192));
        Assert.Equal(0, Activations(0, 8192));
    }

    [Fact]
    public void Estimate_ActivationTerm_IsPaidOnEachAcceleratorAndNotPerSequence()
    {
        var one = MemoryEstimator.Estimate(Llama31_8B, 131_072, concurrentSequences: 1, acceleratorCount: 1, Options);
        var many = MemoryEstimator.Estimate(Llama31_8B, 131_072, concurrentSequences: 4, acceleratorCount: 2, Options);

        Assert.Equal(2 * one.ActivationBytes, many.ActivationBytes);
    }

    [Fact]
    public void Estimate_ActivationCoefficientZero_GivesTheEstimateWithoutTheTerm()
    {
        var estimate = MemoryEstimator.Estimate(Llama31_8B, 131_072, 1, 1, WithoutActivations);

        Assert.Equal(0, estimate.ActivationBytes);
        Assert.Equal(35_976_153_088, estimate.TotalBytes); // weights + KV + 1 GiB + 5 %, as before the term existed
    }

    [Fact]
    public void KvCache_Llama31_8B_Is128KiBPerToken()
    {
        // 2 (K, V) × 32 layers × 8 KV heads × 128 head dim × 2 bytes.
        Assert.Equal(131_072, MemoryEstimator.KvCacheBytesPerToken(Llama31_8B));
    }

    [Fact]
    public void Estimate_Llama31_8BAtFullContext_SumsWeightsKvActivationsAndOverhead()
    {
        var estimate = MemoryEstimator.Estimate(Llama31_8B, contextLength: 131_072, concurrentSequences: 1, acceleratorCount: 1, Options);

        Assert.Equal(16_060_522_496, estimate.WeightBytes);
        Assert.Equal(17_179_869_184, estimate.KvCacheBytes); // 128 KiB × 128 Ki tokens = 16 GiB
        Assert.Equal(4_294_967_296, estimate.ActivationBytes); // 4 bytes × 8192-token chunk × 131072 tokens = 4 GiB
        Assert.Equal(1_073_741_824L + 1_662_019_584L, estimate.OverheadBytes); // 1 GiB + 5 % of 33,240,391,680
        Assert.Equal(40_271_120_384, estimate.TotalBytes);
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
        Assert.Equal(40_271_120_384, result.RequiredBytes);
        Assert.Equal(16_271_120_384, result.ExceedsByBytes);
        // For c ≥ 8192: 1 GiB + 1.05 × (16,060,522,496 + 131,072 × c) + 4 × 8192 × c ≤ 24 × 10^9  ⇔  c ≤ 35,580.9
        Assert.Equal(35_580, result.MaxContextLength);
        // 2 × (1 GiB + 4 GiB) + 1.05 × 33,240,391,680 = 45.64 GB ≤ 48 GB, while one L4 is 24 GB.
        Assert.Equal(2, result.MinAcceleratorCount);
    }

    [Fact]
    public void Check_SuggestedMaxContext_IsExactlyTheBoundary()
    {
        var l4 = AcceleratorCatalog.Default.Get("NVIDIA L4");

        Assert.True(FitCheck.Check(Llama31_8B, l4, 1, 35_580, 1, Options).Fits);
        Assert.False(FitCheck.Check(Llama31_8B, l4, 1, 35_581, 1, Options).Fits);
        Assert.True(FitCheck.Check(Llama31_8B, l4, 2, 131_072, 1, Options).Fits);
    }

    [Theory]
    [InlineData("NVIDIA L4", 1)]
    [InlineData("NVIDIA A10", 1)]
    [InlineData("NVIDIA A100 40GB", 1)]
    [InlineData("NVIDIA L4", 2)]
    public void Check_SuggestedMaxContextAndMinCount_AgreeWithTheEstimate(string acceleratorName, int count)
    {
        var accelerator = AcceleratorCatalog.Default.Get(acceleratorName);

        var result = FitCheck.Check(Llama31_8B, accelerator, count, 131_072, 1, Options);

        if (result.MaxContextLength < 131_072)
        {
            Assert.True(FitCheck.Check(Llama31_8B, accelerator, count, result.MaxContextLength, 1, Options).Fits);
            Assert.False(FitCheck.Check(Llama31_8B, accelerator, count, result.MaxContextLength + 1, 1, Options).Fits);
        }

        int min = Assert.IsType<int>(result.MinAcceleratorCount);
        Assert.True(FitCheck.Check(Llama31_8B, accelerator, min, 131_072, 1, Options).Fits);
        if (min > 1)
        {
            Assert.False(FitCheck.Check(Llama31_8B, accelerator, min - 1, 131_072, 1, Options).Fits);
        }
    }

    [Fact]
    public void Check_ActivationsAloneExceedOneDevice_NoCountFits()
    {
        var small = new AcceleratorSpec("Small", 5); // 1 GiB fixed + 4 GiB of activations at 131072 tokens > 5 GB

        var result = FitCheck.Check(Llama31_8B, small, 1, 131_072, 1, Options);

        Assert.False(result.Fits);
        Assert.Null(result.MinAcceleratorCount);
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
