using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Models;
using ModelServeShim.Models.Integrity;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>model-validation</c> step: confines the model path to the model roots, reads the model's headers
/// (never its weights), optionally verifies SHA-256 checksums, and checks that it fits the requested
/// accelerators at the chosen context length. Reads only, so running it again is harmless.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Model validation",
    Description = "Checks that the model exists inside a model root, reads its format and shape from headers, and checks it fits the accelerators' memory.")]
[Output("modelPath", "string", Description = "The canonical model path (inside a model root).")]
[Output("format", "string", Description = "gguf or safetensors.")]
[Output("facts", "object", Description = "architecture, parameterCount, dataType, contextLength, layers, attentionHeads, kvHeads, headDim, weightBytes, files, tokenizerFiles.", Kind = OutputKinds.ModelFacts)]
[Output("memory", "object", Description = "weightsBytes, kvCacheBytesPerToken, kvCacheBytes, activationBytes, overheadBytes, totalBytes, availableBytes, fits, contextLength (availableBytes and fits are null without accelerators).", Kind = OutputKinds.MemoryEstimate)]
[Output("contextLength", "integer", Description = "The context length chosen: the requested one, else the model's.")]
public sealed class ModelValidationActivity(
    ModelPathResolver paths,
    AcceleratorCatalog accelerators,
    IOptions<ModelStorageOptions> storage,
    IOptions<MemoryEstimateOptions> memoryEstimate) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.ModelValidation";

    /// <summary>The model file or directory.</summary>
    [Input(Required = true, Description = "A .gguf file or a Hugging Face safetensors directory, absolute or relative to the first model root.", UiHint = "path")]
    public string ModelFile { get; set; } = "";

    /// <summary>The accelerator catalog name.</summary>
    [Input(Description = "Accelerator catalog name, e.g. NVIDIA H20 (case, spaces and the vendor prefix do not matter). Required when acceleratorCount > 0.")]
    public string? AcceleratorType { get; set; }

    /// <summary>Accelerators per replica.</summary>
    [Input(DefaultJson = "0", Description = "Accelerators per replica; 0 serves on CPU (no fit check, the estimate is still reported).")]
    public int AcceleratorCount { get; set; }

    /// <summary>The context length; 0 means the model's.</summary>
    [Input(DefaultJson = "0", Description = "Tokens per sequence; 0 or absent: the model's own context length.")]
    public int ContextLength { get; set; }

    /// <summary>Sequences served at once.</summary>
    [Input(DefaultJson = "1", Description = "Sequences served at once (the KV cache is sized for all of them).")]
    public int ConcurrentSequences { get; set; } = 1;

    /// <summary>Whether to verify SHA-256 checksums.</summary>
    [Input(DefaultJson = "false", Description = "Verify files against the model's SHA-256 manifest (SHA256SUMS); reads every byte of the model.")]
    public bool VerifyChecksums { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        CheckInputs(context);
        context.Log(LogLevel.Information, "Validating model", new Dictionary<string, object?>
        {
            ["modelFile"] = ModelFile,
            ["acceleratorType"] = AcceleratorType,
            ["acceleratorCount"] = AcceleratorCount,
            ["contextLength"] = ContextLength,
            ["concurrentSequences"] = ConcurrentSequences,
            ["verifyChecksums"] = VerifyChecksums,
            ["modelRoots"] = paths.Roots,
        });

        // Look the accelerator up first: a typo should not wait for a large model to be read.
        AcceleratorSpec? accelerator = null;
        if (!string.IsNullOrWhiteSpace(AcceleratorType) && !accelerators.TryGet(AcceleratorType, out accelerator))
        {
            var known = accelerators.Entries.Select(e => e.Name).ToList();
            throw StepJournal.Fail(context, LlmErrorTypes.UnknownAccelerator,
                $"Unknown accelerator '{AcceleratorType}'. Known: {string.Join(", ", known)}. Use one of these names, or add it to the '{AcceleratorCatalogOptions.SectionName}' configuration with its memory in GB.",
                retryable: false, new Dictionary<string, object?> { ["acceleratorType"] = AcceleratorType, ["known"] = known });
        }

        string modelPath = Resolve(context);
        var inspectStarted = context.TimeProvider.GetTimestamp();
        var facts = await InspectAsync(context, modelPath);
        string format = FormatName(facts.Format);
        context.Log(LogLevel.Information, $"Read {format} model {facts.Architecture} ({facts.ParameterCount:N0} parameters, {facts.DataType})", new Dictionary<string, object?>
        {
            ["modelPath"] = modelPath,
            ["format"] = format,
            ["architecture"] = facts.Architecture,
            ["parameterCount"] = facts.ParameterCount,
            ["dataType"] = facts.DataType,
            ["weightBytes"] = facts.WeightBytes,
            ["modelContextLength"] = facts.ContextLength,
            ["files"] = facts.Files.Count,
            ["durationMs"] = StepJournal.ElapsedMs(context, inspectStarted),
        });

        if (VerifyChecksums)
        {
            await VerifyChecksumsAsync(context, modelPath, facts);
        }

        int contextLength = ChooseContextLength(context, facts);
        var memory = CheckMemory(context, facts, accelerator, contextLength);

        context.SetOutput("modelPath", modelPath);
        context.SetOutput("format", format);
        context.SetOutput("facts", FactsJson(facts));
        context.SetOutput("memory", memory);
        context.SetOutput("contextLength", contextLength);
        context.Log(LogLevel.Information, "Model validated", new Dictionary<string, object?>
        {
            ["modelPath"] = modelPath,
            ["contextLength"] = contextLength,
            ["totalBytes"] = (long?)memory["totalBytes"],
            ["durationMs"] = StepJournal.ElapsedMs(context, started),
        });
        return ActivityResult.Done;
    }

    /// <summary>The format's name in outputs and runtime profiles.</summary>
    public static string FormatName(ModelFormat format) => format switch
    {
        ModelFormat.Gguf => "gguf",
        ModelFormat.Safetensors => "safetensors",
        _ => format.ToString().ToLowerInvariant(),
    };

    /// <summary>The step error type for a model library error code (all are not retryable: the same bytes give the same answer).</summary>
    public static string ErrorTypeFor(ModelErrorCode code) => code switch
    {
        ModelErrorCode.ModelNotFound => LlmErrorTypes.ModelNotFound,
        ModelErrorCode.PathOutsideModelRoot => LlmErrorTypes.PathOutsideModelRoot,
        ModelErrorCode.InvalidPath => LlmErrorTypes.InvalidModelPath,
        ModelErrorCode.UnsupportedFormat => LlmErrorTypes.UnsupportedModelFormat,
        ModelErrorCode.UnsupportedVersion => LlmErrorTypes.UnsupportedModelVersion,
        ModelErrorCode.InvalidHeader => LlmErrorTypes.InvalidModelHeader,
        ModelErrorCode.UnknownTensorType => LlmErrorTypes.UnknownTensorType,
        ModelErrorCode.TruncatedFile => LlmErrorTypes.TruncatedModelFile,
        ModelErrorCode.ShardMissing => LlmErrorTypes.ShardMissing,
        ModelErrorCode.ConfigMissing => LlmErrorTypes.ModelConfigMissing,
        ModelErrorCode.InvalidConfig => LlmErrorTypes.InvalidModelConfig,
        ModelErrorCode.InvalidManifest => LlmErrorTypes.InvalidChecksumManifest,
        _ => LlmErrorTypes.InvalidModelHeader,
    };

    private void CheckInputs(ActivityContext context)
    {
        if (string.IsNullOrWhiteSpace(ModelFile))
        {
            throw StepJournal.InvalidInput(context, "modelFile", "give a .gguf file or a Hugging Face model directory inside a model root.");
        }

        if (AcceleratorCount < 0)
        {
            throw StepJournal.InvalidInput(context, "acceleratorCount", $"{AcceleratorCount} is negative; use 0 for CPU or the number of accelerators per replica.");
        }

        if (AcceleratorCount > 0 && string.IsNullOrWhiteSpace(AcceleratorType))
        {
            throw StepJournal.InvalidInput(context, "acceleratorType", $"required when acceleratorCount is {AcceleratorCount}; give a catalog name such as 'NVIDIA H20'.");
        }

        if (ContextLength < 0)
        {
            throw StepJournal.InvalidInput(context, "contextLength", $"{ContextLength} is negative; use 0 for the model's own context length.");
        }

        if (ConcurrentSequences < 1)
        {
            throw StepJournal.InvalidInput(context, "concurrentSequences", $"{ConcurrentSequences} must be at least 1.");
        }
    }

    private string Resolve(ActivityContext context)
    {
        try
        {
            return paths.Resolve(ModelFile);
        }
        catch (ModelFormatException e)
        {
            throw ModelError(context, e);
        }
    }

    /// <summary>Reads the model's facts, failing the step with the model library's error type.</summary>
    internal static async Task<ModelFacts> InspectAsync(ActivityContext context, string modelPath)
    {
        try
        {
            return await ModelInspector.InspectAsync(modelPath, context.CancellationToken);
        }
        catch (ModelFormatException e)
        {
            throw ModelError(context, e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Removed between the path check and the read.
            throw StepJournal.Fail(context, LlmErrorTypes.ModelNotFound, $"Model path '{modelPath}' disappeared while it was read: {e.Message}", retryable: false,
                new Dictionary<string, object?> { ["path"] = modelPath }, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ModelUnreadable, $"Model path '{modelPath}' cannot be read by the server: {e.Message} Give the server's user read access.", retryable: false,
                new Dictionary<string, object?> { ["path"] = modelPath }, e);
        }
        catch (IOException e)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ModelReadFailed, $"Reading model '{modelPath}' failed: {e.Message}", retryable: true,
                new Dictionary<string, object?> { ["path"] = modelPath }, e);
        }
    }

    /// <summary>The step failure for a model library error (not retryable).</summary>
    internal static StepException ModelError(ActivityContext context, ModelFormatException e)
    {
        var details = new Dictionary<string, object?> { ["path"] = e.Path, ["modelErrorCode"] = e.ErrorCode.ToString() };
        if (e.RelatedFiles.Count > 0)
        {
            details["relatedFiles"] = e.RelatedFiles;
        }

        if (e.TensorName is not null)
        {
            details["tensor"] = e.TensorName;
        }

        return StepJournal.Fail(context, ErrorTypeFor(e.ErrorCode), e.Message, retryable: false, details, e);
    }

    private async Task VerifyChecksumsAsync(ActivityContext context, string modelPath, ModelFacts facts)
    {
        var started = context.TimeProvider.GetTimestamp();
        string directory = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(modelPath)!;
        var names = storage.Value.EffectiveManifestNames;
        string? manifest = names.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
        if (manifest is null)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ChecksumManifestMissing,
                $"verifyChecksums is true but '{directory}' has no SHA-256 manifest ({string.Join(" or ", names)}). Create one with 'sha256sum <files> > SHA256SUMS' in that directory, or set verifyChecksums to false.",
                retryable: false, new Dictionary<string, object?> { ["directory"] = directory, ["manifestNames"] = names });
        }

        ChecksumReport report;
        try
        {
            report = await ChecksumVerifier.VerifyAsync(manifest, directory, cancellationToken: context.CancellationToken);
        }
        catch (ModelFormatException e)
        {
            throw ModelError(context, e);
        }

        var listed = report.Results.Select(r => Path.GetFullPath(r.FullPath)).ToHashSet(StringComparer.Ordinal);
        var unlisted = facts.Files.Where(f => !listed.Contains(Path.GetFullPath(f))).Select(Path.GetFileName).ToList();
        if (unlisted.Count > 0)
        {
            context.Log(LogLevel.Warning, $"The manifest does not list {unlisted.Count} weight file(s); they were not verified", new Dictionary<string, object?> { ["manifest"] = manifest, ["unlisted"] = unlisted });
        }

        if (!report.AllMatch)
        {
            var mismatched = report.Mismatches.Select(r => r.Entry.RelativePath).ToList();
            var missing = report.Missing.Select(r => r.Entry.RelativePath).ToList();
            throw StepJournal.Fail(context, LlmErrorTypes.ChecksumMismatch,
                $"Checksums of '{directory}' do not match '{Path.GetFileName(manifest)}': {mismatched.Count} differ ({string.Join(", ", mismatched)}), {missing.Count} missing ({string.Join(", ", missing)}). The download is corrupt or incomplete; download those files again.",
                retryable: false, new Dictionary<string, object?> { ["manifest"] = manifest, ["mismatched"] = mismatched, ["missing"] = missing });
        }

        context.Log(LogLevel.Information, $"Verified {report.Results.Count} file(s) against {Path.GetFileName(manifest)}", new Dictionary<string, object?>
        {
            ["manifest"] = manifest,
            ["files"] = report.Results.Count,
            ["durationMs"] = StepJournal.ElapsedMs(context, started),
        });
    }

    private int ChooseContextLength(ActivityContext context, ModelFacts facts)
    {
        if (ContextLength > 0)
        {
            if (facts.ContextLength is { } trained && ContextLength > trained)
            {
                context.Log(LogLevel.Warning, $"The requested context length {ContextLength} exceeds the model's {trained}; quality past {trained} tokens depends on the runtime's RoPE scaling",
                    new Dictionary<string, object?> { ["contextLength"] = ContextLength, ["modelContextLength"] = trained });
            }

            return ContextLength;
        }

        if (facts.ContextLength is { } own and > 0)
        {
            return own;
        }

        int fallback = storage.Value.FallbackContextLength;
        context.Log(LogLevel.Warning, $"The model does not state its context length; using {fallback}", new Dictionary<string, object?> { ["contextLength"] = fallback });
        return fallback;
    }

    private JsonObject CheckMemory(ActivityContext context, ModelFacts facts, AcceleratorSpec? accelerator, int contextLength)
    {
        if (AcceleratorCount == 0 || accelerator is null)
        {
            // CPU: no device overhead, nothing to compare against.
            var estimate = MemoryEstimator.Estimate(facts, contextLength, ConcurrentSequences, 1, memoryEstimate.Value with { OverheadBytesPerAccelerator = 0 });
            context.Log(LogLevel.Information, $"No accelerators requested: skipping the fit check; estimated {Gb(estimate.TotalBytes)} of memory", new Dictionary<string, object?>
            {
                ["totalBytes"] = estimate.TotalBytes,
                ["contextLength"] = contextLength,
            });
            return MemoryJson(estimate, contextLength, available: null, fits: null);
        }

        var fit = FitCheck.Check(facts, accelerator, AcceleratorCount, contextLength, ConcurrentSequences, memoryEstimate.Value);
        var details = new Dictionary<string, object?>
        {
            ["accelerator"] = accelerator.Name,
            ["acceleratorCount"] = AcceleratorCount,
            ["contextLength"] = contextLength,
            ["concurrentSequences"] = ConcurrentSequences,
            ["requiredBytes"] = fit.RequiredBytes,
            ["availableBytes"] = fit.AvailableBytes,
            ["shortfallBytes"] = fit.ExceedsByBytes,
            ["maxContextLength"] = fit.MaxContextLength,
            ["minAcceleratorCount"] = fit.MinAcceleratorCount,
        };
        if (!fit.Fits)
        {
            string atThisCount = fit.MaxContextLength > 0
                ? $"on {AcceleratorCount} × {accelerator.Name} the longest context that fits is {fit.MaxContextLength.ToString(CultureInfo.InvariantCulture)} tokens"
                : $"on {AcceleratorCount} × {accelerator.Name} not even the weights fit";
            string moreDevices = fit.MinAcceleratorCount is { } min
                ? $"at {contextLength.ToString(CultureInfo.InvariantCulture)} tokens it needs {min.ToString(CultureInfo.InvariantCulture)} × {accelerator.Name}"
                : $"no number of {accelerator.Name} fits it (the fixed per-device overhead and prefill activations exceed one device's memory)";
            throw StepJournal.Fail(context, LlmErrorTypes.InsufficientAcceleratorMemory,
                $"The model needs {Gb(fit.RequiredBytes)} but {AcceleratorCount} × {accelerator.Name} have {Gb(fit.AvailableBytes)}: short by {Gb(fit.ExceedsByBytes)} ({fit.ExceedsByBytes.ToString(CultureInfo.InvariantCulture)} bytes) at {contextLength.ToString(CultureInfo.InvariantCulture)} tokens × {ConcurrentSequences.ToString(CultureInfo.InvariantCulture)} sequence(s). What would fit: {atThisCount}; {moreDevices}.",
                retryable: false, details);
        }

        context.Log(LogLevel.Information, $"Fits: {Gb(fit.RequiredBytes)} of {Gb(fit.AvailableBytes)} on {AcceleratorCount} × {accelerator.Name}", details);
        return MemoryJson(fit.Estimate, contextLength, fit.AvailableBytes, fits: true);
    }

    private static JsonObject MemoryJson(MemoryEstimate estimate, int contextLength, long? available, bool? fits) => new()
    {
        ["weightsBytes"] = estimate.WeightBytes,
        ["kvCacheBytesPerToken"] = estimate.KvCacheBytesPerToken,
        ["kvCacheBytes"] = estimate.KvCacheBytes,
        ["activationBytes"] = estimate.ActivationBytes,
        ["overheadBytes"] = estimate.OverheadBytes,
        ["totalBytes"] = estimate.TotalBytes,
        ["availableBytes"] = available,
        ["fits"] = fits,
        ["contextLength"] = contextLength,
    };

    private static JsonObject FactsJson(ModelFacts facts) => new()
    {
        ["architecture"] = facts.Architecture,
        ["parameterCount"] = facts.ParameterCount,
        ["dataType"] = facts.DataType,
        ["contextLength"] = facts.ContextLength,
        ["layers"] = facts.Layers,
        ["attentionHeads"] = facts.AttentionHeads,
        ["kvHeads"] = facts.KvHeads,
        ["headDim"] = facts.HeadDim,
        ["weightBytes"] = facts.WeightBytes,
        ["files"] = new JsonArray([.. facts.Files.Select(f => (JsonNode?)JsonValue.Create(f))]),
        ["tokenizerFiles"] = new JsonArray([.. facts.TokenizerFiles.Select(f => (JsonNode?)JsonValue.Create(f))]),
    };

    private static string Gb(long bytes) => (bytes / 1e9).ToString(bytes < 10_000_000 ? "0.######" : "0.##", CultureInfo.InvariantCulture) + " GB";
}
