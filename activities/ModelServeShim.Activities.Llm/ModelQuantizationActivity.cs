using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Models;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>model-quantization</c> step: quantizes a GGUF model with llama.cpp's own quantizer, run as
/// <c>model-serve-shim-llama quantize</c> (a child process, so llama.cpp's native libraries stay out of the host).
/// Writes <c>&lt;model root&gt;/&lt;Runtimes:QuantizedDirectory&gt;/&lt;name&gt;.&lt;type&gt;.gguf</c> through a temporary file
/// and an atomic rename, with a sidecar <c>&lt;output&gt;.source</c> recording the input's size and SHA-256 and the
/// output's SHA-256; a re-run whose sidecar matches skips the work.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Model quantization",
    Description = "Quantizes a GGUF model with llama.cpp's quantizer (Q8_0, Q4_K_M, …) into the model root; skips work already done for the same input.")]
[Output("modelFile", "string", Description = "The quantized GGUF file (inside the input's model root).")]
[Output("type", "string", Description = "The quantization type.")]
[Output("inputBytes", "integer", Description = "Size of the input file.")]
[Output("outputBytes", "integer", Description = "Size of the quantized file.")]
[Output("ratio", "number", Description = "outputBytes / inputBytes.")]
[Output("skipped", "boolean", Description = "True when a valid output for the same input already existed.")]
public sealed class ModelQuantizationActivity(ModelPathResolver paths, IOptions<RuntimeOptions> options) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.ModelQuantization";

    /// <summary>The quantization types offered (llama.cpp's names), in the order error messages list them.</summary>
    public static readonly IReadOnlyList<string> Types =
        ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q5_1", "Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K", "F16", "BF16"];

    /// <summary>The GGUF to quantize.</summary>
    [Input(Required = true, Description = "The GGUF file to quantize (model-validation's modelPath).", UiHint = "path")]
    public string ModelFile { get; set; } = "";

    /// <summary>The target type.</summary>
    [Input(Required = true, Description = "Target type: Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, … (llama.cpp's names).")]
    public string Type { get; set; } = "";

    /// <summary>Quantizer threads.</summary>
    [Input(DefaultJson = "0", Description = "Threads for the quantizer; 0 lets llama.cpp choose.")]
    public int Threads { get; set; }

    /// <summary>Whether <paramref name="type"/> is offered (case-insensitive).</summary>
    public static bool IsKnownType(string? type) => type is not null && Types.Contains(type, StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        string type = Type.Trim().ToUpperInvariant();
        context.Log(LogLevel.Information, "Quantizing model", new Dictionary<string, object?>
        {
            ["modelFile"] = ModelFile,
            ["type"] = type,
            ["threads"] = Threads,
        });
        if (!IsKnownType(type))
        {
            throw StepJournal.Fail(context, LlmErrorTypes.UnsupportedQuantizationType,
                $"Unknown quantization type '{Type}'. Supported: {string.Join(", ", Types)}.",
                retryable: false, new Dictionary<string, object?> { ["type"] = Type, ["supported"] = Types });
        }

        if (Threads is < 0 or > 1024)
        {
            throw StepJournal.InvalidInput(context, "threads", $"{Threads} must be 0 (llama.cpp chooses) to 1024.");
        }

        var (input, root) = ResolveInput(context);
        await CheckGgufAsync(context, input);
        string directory = Path.Combine(root, options.Value.QuantizedDirectory);
        string output = Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(input)}.{type}.gguf");
        string sidecar = output + ".source";
        long inputBytes = new FileInfo(input).Length;
        string inputHash = await Sha256Async(input, context.CancellationToken);

        bool skipped = await IsDoneAsync(output, sidecar, inputBytes, inputHash, context.CancellationToken);
        if (!skipped)
        {
            Directory.CreateDirectory(directory);
            string temporary = Path.Combine(directory, $".{Path.GetFileName(output)}.{Guid.NewGuid():N}.tmp");
            try
            {
                await RunQuantizerAsync(context, input, temporary, type);
                string outputHash = await Sha256Async(temporary, context.CancellationToken);
                File.Move(temporary, output, overwrite: true);
                await WriteSidecarAsync(sidecar, inputBytes, inputHash, outputHash, context.CancellationToken);
            }
            finally
            {
                File.Delete(temporary);
            }
        }

        long outputBytes = new FileInfo(output).Length;
        double ratio = Math.Round((double)outputBytes / inputBytes, 4);
        context.SetOutput("modelFile", output);
        context.SetOutput("type", type);
        context.SetOutput("inputBytes", inputBytes);
        context.SetOutput("outputBytes", outputBytes);
        context.SetOutput("ratio", ratio);
        context.SetOutput("skipped", skipped);
        context.Log(LogLevel.Information, skipped ? $"Quantized model already present ({type})" : $"Quantized model to {type}", new Dictionary<string, object?>
        {
            ["input"] = input,
            ["output"] = output,
            ["type"] = type,
            ["inputBytes"] = inputBytes,
            ["outputBytes"] = outputBytes,
            ["ratio"] = ratio,
            ["skipped"] = skipped,
            ["durationMs"] = StepJournal.ElapsedMs(context, started),
        });
        return ActivityResult.Done;
    }

    private (string Input, string Root) ResolveInput(ActivityContext context)
    {
        if (string.IsNullOrWhiteSpace(ModelFile))
        {
            throw StepJournal.InvalidInput(context, "modelFile", "give the GGUF file to quantize (model-validation's modelPath).");
        }

        string canonical;
        try
        {
            canonical = paths.Resolve(ModelFile);
        }
        catch (ModelFormatException e)
        {
            throw StepJournal.Fail(context, ModelValidationActivity.ErrorTypeFor(e.ErrorCode), e.Message, retryable: false,
                new Dictionary<string, object?> { ["path"] = e.Path }, e);
        }

        string root = paths.Roots
            .Select(r => new ModelPathResolver([r]).Resolve(r, mustExist: false))
            .Where(r => canonical.StartsWith(Path.TrimEndingDirectorySeparator(r) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .OrderByDescending(r => r.Length)
            .First();
        return (canonical, root);
    }

    private static async Task CheckGgufAsync(ActivityContext context, string input)
    {
        var magic = new byte[4];
        int read = 0;
        if (File.Exists(input))
        {
            await using var stream = File.OpenRead(input);
            read = await stream.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, context.CancellationToken);
        }

        if (read < 4 || !magic.AsSpan().SequenceEqual("GGUF"u8))
        {
            throw StepJournal.Fail(context, LlmErrorTypes.UnsupportedModelFormat,
                $"model-quantization quantizes GGUF files only (a single .gguf file starting with the 'GGUF' magic); '{input}' is not one. For a Hugging Face safetensors model, convert it to GGUF first (llama.cpp's convert_hf_to_gguf.py), or deploy it with the opensourcellm pipeline.",
                retryable: false, new Dictionary<string, object?> { ["path"] = input, ["supported"] = "gguf" });
        }
    }

    private async Task RunQuantizerAsync(ActivityContext context, string input, string output, string type)
    {
        var located = LlamaServerLocator.TryLocate(options.Value.LlamaServerPath) ?? throw StepJournal.Fail(context, LlmErrorTypes.QuantizerNotFound,
            $"The quantizer {LlamaServerLocator.ExecutableName} was not found (looked at {LlamaServerLocator.Describe(options.Value.LlamaServerPath)}). Build src/ModelServeShim.LlamaServer or set {RuntimeOptions.SectionName}:LlamaServerPath.",
            retryable: false);
        var start = new ProcessStartInfo(located[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in located.Skip(1).Concat(["quantize", "--input", input, "--output", output, "--type", type,
                     "--threads", Threads.ToString(CultureInfo.InvariantCulture)]))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.WaitForExit(); // drains the redirected output
        string text;
        lock (log)
        {
            text = log.ToString().Trim();
        }

        if (process.ExitCode != 0)
        {
            string last = text.Split('\n').LastOrDefault(l => l.Contains("model-serve-shim-llama:", StringComparison.Ordinal) || l.Contains("failed", StringComparison.OrdinalIgnoreCase))?.Trim() ?? text;
            throw StepJournal.Fail(context, LlmErrorTypes.QuantizationFailed,
                $"Quantizing '{input}' to {type} failed (exit code {process.ExitCode}): {last}",
                retryable: false, new Dictionary<string, object?> { ["exitCode"] = process.ExitCode, ["output"] = text.Length > 4000 ? text[^4000..] : text });
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        }
    }

    private static async Task<bool> IsDoneAsync(string output, string sidecar, long inputBytes, string inputHash, CancellationToken cancellationToken)
    {
        if (!File.Exists(output) || !File.Exists(sidecar))
        {
            return false;
        }

        var fields = (await File.ReadAllLinesAsync(sidecar, cancellationToken))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return fields.GetValueOrDefault("inputBytes") == inputBytes.ToString(CultureInfo.InvariantCulture)
            && fields.GetValueOrDefault("inputSha256") == inputHash
            && fields.GetValueOrDefault("outputSha256") == await Sha256Async(output, cancellationToken);
    }

    private static async Task WriteSidecarAsync(string sidecar, long inputBytes, string inputHash, string outputHash, CancellationToken cancellationToken)
    {
        string temporary = sidecar + ".tmp";
        await File.WriteAllTextAsync(temporary, string.Create(CultureInfo.InvariantCulture,
            $"inputBytes={inputBytes}\ninputSha256={inputHash}\noutputSha256={outputHash}\n"), cancellationToken);
        File.Move(temporary, sidecar, overwrite: true);
    }

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
