using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>
/// model-quantization with the real quantizer: <c>model-serve-shim-llama quantize</c> from the LlamaServer build
/// (built before these tests through a ProjectReference that references no assembly).
/// </summary>
public sealed class ModelQuantizationTests
{
    private const string Type = ModelQuantizationActivity.TypeName;

    /// <summary>The LlamaServer build of the same configuration as these tests (…/bin/&lt;Configuration&gt;/net10.0/).</summary>
    private static readonly string LlamaServer = Path.GetFullPath(Path.Combine(
        RepositoryRoot(), "src", "ModelServeShim.LlamaServer", "bin", new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name, "net10.0",
        LlamaServerLocator.ExecutableName));

    private static Task<LlmHarness> StartAsync(string? llamaServer = null) =>
        LlmHarness.StartAsync(new Dictionary<string, string?> { ["Runtimes:LlamaServerPath"] = llamaServer ?? LlamaServer });

    [Fact]
    public async Task Quantize_Q8_0_WritesSmallerGgufThatLlamaCppLoads_AndReportsSizes()
    {
        await using var h = await StartAsync();
        string input = await TestModels.WriteGgufAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("quantize", Type, new JsonObject { ["modelFile"] = "sample/sample-llama-f32.gguf", ["type"] = "q8_0", ["threads"] = 1 });

        var instance = await h.RunAsync("quantize");
        var output = await h.GetOutputAsync(instance.Id, "step");

        Assert.True(instance.Status == InstanceStatus.Completed, $"{instance.Status}: {instance.ErrorType}: {instance.ErrorMessage}");
        string quantized = Path.Combine(h.ModelRoot, ".quantized", "sample-llama-f32.Q8_0.gguf");
        Assert.Equal(quantized, (string?)output["modelFile"]);
        Assert.Equal("Q8_0", (string?)output["type"]);
        Assert.False((bool)output["skipped"]!);
        long inputBytes = new FileInfo(input).Length, outputBytes = new FileInfo(quantized).Length;
        Assert.Equal(inputBytes, (long)output["inputBytes"]!);
        Assert.Equal(outputBytes, (long)output["outputBytes"]!);
        Assert.True(outputBytes < inputBytes, $"{outputBytes} bytes is not smaller than {inputBytes}");
        Assert.Equal(Math.Round((double)outputBytes / inputBytes, 4), (double)output["ratio"]!);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(quantized)!, "*.tmp"));
        Assert.Contains(await h.GetJournalAsync(instance.Id), j => j.Message.StartsWith("Quantized model to Q8_0", StringComparison.Ordinal));

        // llama.cpp loads the quantized file and generates from it.
        var (exitCode, text) = await RunAsync(LlamaServer, "bench", "--model", quantized, "--tokens", "4", "--runs", "1");
        Assert.True(exitCode == 0, text);
        Assert.Contains("tokens/s", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quantize_SameInputAgain_IsSkipped_ButAChangedInputIsRedone()
    {
        await using var h = await StartAsync();
        string input = await TestModels.WriteGgufAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("quantize", Type, new JsonObject { ["modelFile"] = input, ["type"] = "Q8_0" });

        var first = await h.GetOutputAsync((await h.RunAsync("quantize")).Id, "step");
        string quantized = (string)first["modelFile"]!;
        var written = File.GetLastWriteTimeUtc(quantized);
        var second = await h.GetOutputAsync((await h.RunAsync("quantize")).Id, "step");

        Assert.False((bool)first["skipped"]!);
        Assert.True((bool)second["skipped"]!);
        Assert.Equal(written, File.GetLastWriteTimeUtc(quantized));

        // A corrupted output no longer matches the sidecar's checksum: the work is done again.
        await File.AppendAllTextAsync(quantized, "x");
        var third = await h.GetOutputAsync((await h.RunAsync("quantize")).Id, "step");
        Assert.False((bool)third["skipped"]!);
        Assert.Equal((long)first["outputBytes"]!, new FileInfo(quantized).Length);
    }

    [Fact]
    public async Task Quantize_NotAGguf_FailsWithUnsupportedFormatNamingWhatIsSupported()
    {
        await using var h = await StartAsync();
        string dir = await TestModels.WriteSafetensorsAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("quantize", Type, new JsonObject { ["modelFile"] = Path.Combine(dir, "model.safetensors"), ["type"] = "Q8_0" });

        var step = Assert.Single(await h.GetStepsAsync((await h.RunAsync("quantize")).Id));

        Assert.Equal(LlmErrorTypes.UnsupportedModelFormat, step.ErrorType);
        Assert.False(step.Retryable);
        Assert.Contains("GGUF files only", step.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("convert_hf_to_gguf", step.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quantize_UnknownType_FailsListingTheSupportedTypes()
    {
        await using var h = await StartAsync();
        await TestModels.WriteGgufAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("quantize", Type, new JsonObject { ["modelFile"] = "sample/sample-llama-f32.gguf", ["type"] = "Q9_X" });

        var step = Assert.Single(await h.GetStepsAsync((await h.RunAsync("quantize")).Id));

        Assert.Equal(LlmErrorTypes.UnsupportedQuantizationType, step.ErrorType);
        Assert.Contains("Q4_K_M", step.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quantize_QuantizerMissing_FailsNotRetryableWithQuantizerNotFound()
    {
        await using var h = await StartAsync(Path.Combine(Path.GetTempPath(), "no-such-dir", "model-serve-shim-llama"));
        await TestModels.WriteGgufAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("quantize", Type, new JsonObject { ["modelFile"] = "sample/sample-llama-f32.gguf", ["type"] = "Q8_0" });

        var step = Assert.Single(await h.GetStepsAsync((await h.RunAsync("quantize")).Id));

        Assert.Equal(LlmErrorTypes.QuantizerNotFound, step.ErrorType);
        Assert.False(step.Retryable);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelServeShim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ModelServeShim.sln above {AppContext.BaseDirectory}.");
    }
}
