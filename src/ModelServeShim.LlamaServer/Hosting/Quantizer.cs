using System.Diagnostics;
using System.Globalization;
using LLama;
using LLama.Native;

namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>The <c>quantize</c> command's options.</summary>
/// <param name="Input">The GGUF file to quantize.</param>
/// <param name="Output">The file to write (overwritten).</param>
/// <param name="Type">The target type, e.g. <c>Q8_0</c> (one of <see cref="Quantizer.Types"/>).</param>
/// <param name="Threads">Threads; 0 lets llama.cpp choose.</param>
public sealed record QuantizeOptions(string Input, string Output, string Type, int Threads);

/// <summary>
/// <c>model-serve-shim-llama quantize</c>: llama.cpp's own quantizer (<c>llama_model_quantize</c> through LLamaSharp's
/// <see cref="LLamaQuantizer"/>). Writes exactly the output path it is given; callers that need atomicity write to a
/// temporary name and rename.
/// </summary>
public static class Quantizer
{
    /// <summary>The target types offered, by their llama.cpp names.</summary>
    public static readonly IReadOnlyDictionary<string, LLamaFtype> Types = new Dictionary<string, LLamaFtype>(StringComparer.OrdinalIgnoreCase)
    {
        ["F16"] = LLamaFtype.MOSTLY_F16,
        ["BF16"] = LLamaFtype.MOSTLY_BF16,
        ["Q8_0"] = LLamaFtype.MOSTLY_Q8_0,
        ["Q4_0"] = LLamaFtype.MOSTLY_Q4_0,
        ["Q4_1"] = LLamaFtype.MOSTLY_Q4_1,
        ["Q5_0"] = LLamaFtype.MOSTLY_Q5_0,
        ["Q5_1"] = LLamaFtype.MOSTLY_Q5_1,
        ["Q2_K"] = LLamaFtype.MOSTLY_Q2_K,
        ["Q3_K_S"] = LLamaFtype.MOSTLY_Q3_K_S,
        ["Q3_K_M"] = LLamaFtype.MOSTLY_Q3_K_M,
        ["Q3_K_L"] = LLamaFtype.MOSTLY_Q3_K_L,
        ["Q4_K_S"] = LLamaFtype.MOSTLY_Q4_K_S,
        ["Q4_K_M"] = LLamaFtype.MOSTLY_Q4_K_M,
        ["Q5_K_S"] = LLamaFtype.MOSTLY_Q5_K_S,
        ["Q5_K_M"] = LLamaFtype.MOSTLY_Q5_K_M,
        ["Q6_K"] = LLamaFtype.MOSTLY_Q6_K,
    };

    /// <summary>Quantizes; returns 0, or 1 with one line on <paramref name="error"/> when llama.cpp refuses.</summary>
    public static async Task<int> RunAsync(QuantizeOptions options, TextWriter output, TextWriter error, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        NativeLibraryConfig.All.WithCuda(false).WithVulkan(false).WithAutoFallback(true)
            .WithLogCallback(loggerFactory.CreateLogger("llama.cpp"));
        NativeApi.llama_empty_call(); // loads the native library through LLamaSharp's resolver (picks the CPU build)
        long inputBytes = new FileInfo(options.Input).Length;
        long start = Stopwatch.GetTimestamp();
        bool ok = LLamaQuantizer.Quantize(options.Input, options.Output, Types[options.Type], options.Threads, allowRequantize: true, quantizeOutputTensor: false);
        var elapsed = Stopwatch.GetElapsedTime(start);
        if (!ok || !File.Exists(options.Output))
        {
            await error.WriteLineAsync($"model-serve-shim-llama: quantize: llama.cpp could not quantize '{options.Input}' to {options.Type} (see its log above).");
            return 1;
        }

        long outputBytes = new FileInfo(options.Output).Length;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"quantized {options.Input} ({inputBytes} bytes) to {options.Output} ({outputBytes} bytes, {options.Type}) in {elapsed.TotalMilliseconds:F0} ms"));
        return 0;
    }
}
