using System.Diagnostics;
using System.Globalization;
using ModelServeShim.LlamaServer.Inference;

namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>
/// <c>model-serve-shim-llama bench</c>: completion tokens per second, greedy, one sequence. Each run times a
/// whole request (prompt evaluation included) after one unmeasured warm-up run.
/// </summary>
public static class Benchmark
{
    private const string Prompt = "Once upon a time";

    public static async Task<int> RunAsync(BenchmarkOptions benchmark, TextWriter output, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(benchmark);
        ArgumentNullException.ThrowIfNull(output);
        using var inference = new LlamaInference(benchmark.Server with { Parallel = 1 }, loggerFactory);
        await inference.LoadAsync(CancellationToken.None);
        if (inference.Status != ModelStatus.Ready)
        {
            await output.WriteLineAsync($"bench: loading failed: {inference.LoadError}");
            return 1;
        }

        var prompt = inference.Tokenize(Prompt);
        var settings = new GenerationSettings { MaxTokens = Math.Min(benchmark.Tokens, inference.ContextSize - prompt.Length), Temperature = 0 };
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"model {Path.GetFileName(benchmark.Server.ModelPath)}, {benchmark.Server.Threads} thread(s), context {inference.ContextSize}, prompt {prompt.Length} tokens, up to {settings.MaxTokens} tokens, {benchmark.Runs} runs after 1 warm-up"));

        await GenerateAsync(inference, prompt, settings);
        var rates = new List<double>();
        for (int run = 1; run <= benchmark.Runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            int tokens = await GenerateAsync(inference, prompt, settings);
            var elapsed = Stopwatch.GetElapsedTime(start);
            rates.Add(tokens / elapsed.TotalSeconds);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: {tokens} tokens in {elapsed.TotalMilliseconds:F1} ms = {rates[^1]:F1} tokens/s"));
        }

        rates.Sort();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"median {rates[rates.Count / 2]:F1} tokens/s, mean {rates.Average():F1}, min {rates[0]:F1}, max {rates[^1]:F1}"));
        return 0;
    }

    private static async Task<int> GenerateAsync(LlamaInference inference, IReadOnlyList<LLama.Native.LLamaToken> prompt, GenerationSettings settings)
    {
        int tokens = 0;
        await foreach (var update in inference.GenerateAsync(prompt, settings, CancellationToken.None))
        {
            tokens = update.CompletionTokens;
        }

        return tokens;
    }
}
