using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.SampleModels;
using Xunit.Abstractions;

namespace ModelServeShim.Models.Tests.SampleModels;

/// <summary>
/// Proves a generated sample loads and runs in llama.cpp (through LLamaSharp's CPU backend), on one thread.
/// One class so the native library is configured once per process.
/// </summary>
public sealed class LlamaCppLoadTests(ITestOutputHelper output)
{
    private static readonly Lock NativeLock = new();
    private static readonly List<string> NativeLog = [];

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public async Task SampleModel_LoadedByLlamaCpp_TokenizesAndGeneratesTokens(GgmlType weightType)
    {
        using var temp = new TempDirectory();
        string path = await SampleModelGenerator.WriteToDirectoryAsync(temp.Path, new SampleModelOptions { WeightType = weightType, Seed = 7 });
        EnsureNativeLibrary();

        var parameters = new ModelParams(path)
        {
            ContextSize = 128,
            GpuLayerCount = 0,
            Threads = 1,
            BatchThreads = 1,
            BatchSize = 64,
            UBatchSize = 64,
        };
        using var weights = await LLamaWeights.LoadFromFileAsync(parameters);
        output.WriteLine($"native library: {DescribeLoadedLibrary()}");

        Assert.Equal(384, weights.Vocab.Count);
        Assert.Equal(SampleVocabulary.BosId, (int?)weights.Vocab.BOS);
        Assert.Equal(SampleVocabulary.EosId, (int?)weights.Vocab.EOS);

        const string prompt = "Hello world, ünïcödé ✓";
        var tokens = weights.Tokenize(prompt, add_bos: true, special: false, Encoding.UTF8);
        output.WriteLine($"tokens: {string.Join(' ', tokens.Select(t => (int)t))}");
        Assert.Equal(SampleVocabulary.BosId, (int)tokens[0]);
        Assert.True(tokens.Length > 5, "the prompt should need several tokens");

        using var context = weights.CreateContext(parameters);
        // The tokenizer round-trips text it has never seen (byte fallback for the non-ASCII characters).
        Assert.Equal(prompt, Decode(weights, tokens.Skip(1)).TrimStart());

        var batch = new LLamaBatch();
        batch.AddRange(tokens, 0, LLamaSeqId.Zero, logitsLast: true);
        Assert.Equal(DecodeResult.Ok, await context.DecodeAsync(batch));

        var generated = new List<int>();
        int position = tokens.Length;
        for (int step = 0; step < 8; step++)
        {
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            Assert.Equal(weights.Vocab.Count, logits.Length);
            Assert.All(logits.ToArray(), l => Assert.True(float.IsFinite(l)));
            int next = ArgMax(logits);
            generated.Add(next);

            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
            Assert.Equal(DecodeResult.Ok, await context.DecodeAsync(batch));
        }

        output.WriteLine($"generated: {string.Join(' ', generated)} = \"{Decode(weights, generated.Select(t => (LLamaToken)t))}\"");
        Assert.Equal(8, generated.Count);
        Assert.All(generated, t => Assert.InRange(t, 0, weights.Vocab.Count - 1));
    }

    [Fact]
    public async Task SampleModel_RunByStatelessExecutor_CompletesWithOneThread()
    {
        using var temp = new TempDirectory();
        string path = await SampleModelGenerator.WriteToDirectoryAsync(temp.Path);
        EnsureNativeLibrary();
        var parameters = new ModelParams(path) { ContextSize = 128, GpuLayerCount = 0, Threads = 1, BatchThreads = 1 };
        using var weights = await LLamaWeights.LoadFromFileAsync(parameters);
        var executor = new StatelessExecutor(weights, parameters);

        var pieces = new List<string>();
        await foreach (string piece in executor.InferAsync("the model", new InferenceParams { MaxTokens = 6 }))
        {
            pieces.Add(piece);
        }

        output.WriteLine($"stateless executor produced {pieces.Count} pieces: \"{string.Concat(pieces)}\"");
        Assert.InRange(pieces.Count, 1, 6);
    }

    private static string Decode(LLamaWeights weights, IEnumerable<LLamaToken> tokens)
    {
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, weights);
        foreach (var token in tokens)
        {
            decoder.Add(token);
        }

        return decoder.Read();
    }

    private static int ArgMax(Span<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static void EnsureNativeLibrary()
    {
        lock (NativeLock)
        {
            if (NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                return;
            }

            NativeLibraryConfig.All
                .WithCuda(false)
                .WithVulkan(false)
                .WithAutoFallback(true)
                .WithLogCallback((level, message) =>
                {
                    lock (NativeLog)
                    {
                        NativeLog.Add($"{level}: {message}");
                    }
                });
            NativeApi.llama_empty_call();
        }
    }

    private static string DescribeLoadedLibrary()
    {
        var library = NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama);
        return library?.Metadata?.ToString() ?? "unknown";
    }
}
