using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Models;
using ModelServeShim.Models.Integrity;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>checksum-verification</c> step: the SHA-256 of every model file (one GGUF, its split shards, or every file of
/// a Hugging Face directory the manifest lists) against a sha256sum-format manifest next to the model, a manifest named
/// by the step, or checksums given inline. Files are hashed in parallel (one per processor) and each with large
/// positional reads that overlap its hashing; the first mismatch stops the step and is named. Digests are remembered by
/// path, size, modification and change time, inode and device (<see cref="IChecksumCache"/>), so an unchanged model is
/// not read again on a redeploy. Reads only, so running it again is harmless.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Checksum verification",
    Description = "Verifies the SHA-256 of every model file against the model's manifest (SHA256SUMS, sha256sum format) or checksums given inline; unchanged files are not read again.")]
[Output("verified", "boolean", Description = "True when every model file matched; false when verification was switched off (verifyChecksums false).")]
[Output("manifest", "string", Description = "The manifest file used, or 'inline' for checksums given to the step; null when skipped.")]
[Output("files", "array", Description = "One {file, bytes, sha256, cached} per verified file, file relative to the model directory.")]
[Output("hashedBytes", "integer", Description = "Bytes read and hashed by this run (0 when every digest came from the cache).")]
[Output("cachedFiles", "integer", Description = "Files whose digest came from the cache (unchanged since they were last hashed).")]
[Output("cached", "boolean", Description = "True when every file's digest came from the cache (nothing was read).")]
public sealed partial class ChecksumVerificationActivity(
    ModelPathResolver paths,
    IChecksumCache cache,
    IOptions<ModelStorageOptions> storage) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.ChecksumVerification";

    /// <summary>The value of the <c>manifest</c> output for checksums given inline.</summary>
    public const string InlineManifest = "inline";

    /// <summary>The model file or directory.</summary>
    [Input(Required = true, Description = "A .gguf file (or the first shard of a split GGUF) or a Hugging Face safetensors directory inside a model root.", UiHint = "path")]
    public string ModelFile { get; set; } = "";

    /// <summary>Whether to verify; false skips the step (the request's <c>verifyChecksums</c>).</summary>
    [Input(DefaultJson = "true", Description = "Verify the files; false skips the step (wire the deploy request's verifyChecksums here).")]
    public bool VerifyChecksums { get; set; } = true;

    /// <summary>A manifest file other than the one next to the model.</summary>
    [Input(Description = "A manifest file (sha256sum format) inside a model root; its paths are relative to the model directory. Absent: SHA256SUMS (Models:ChecksumManifestNames) next to the model.", UiHint = "path")]
    public string? Manifest { get; set; }

    /// <summary>Checksums given inline: file (relative to the model directory) to SHA-256.</summary>
    [Input(UiHint = "json", Description = "Checksums given inline instead of a manifest (the deploy request's checksums): {\"model-00001-of-00002.safetensors\": \"<64 hex>\", ...}, paths relative to the model directory; empty or absent: the manifest.")]
    public Dictionary<string, string>? Checksums { get; set; }

    /// <summary>Files hashed at once; 0 for one per processor.</summary>
    [Input(DefaultJson = "0", Description = "Files hashed at once; 0: one per processor.")]
    public int Parallelism { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        if (string.IsNullOrWhiteSpace(ModelFile))
        {
            throw StepJournal.InvalidInput(context, "modelFile", "give a .gguf file or a Hugging Face model directory inside a model root.");
        }

        if (Parallelism < 0)
        {
            throw StepJournal.InvalidInput(context, "parallelism", $"{Parallelism} is negative; use 0 for one file per processor.");
        }

        if (Manifest is not null && Checksums is { Count: > 0 })
        {
            throw StepJournal.InvalidInput(context, "checksums", "give a manifest file or inline checksums, not both.");
        }

        if (!VerifyChecksums)
        {
            context.Log(LogLevel.Information, "Checksum verification is switched off (verifyChecksums is false); the model's files are not verified", new Dictionary<string, object?> { ["modelFile"] = ModelFile });
            context.SetOutput("verified", false);
            context.SetOutput("manifest", null);
            context.SetOutput("files", new JsonArray());
            context.SetOutput("hashedBytes", 0L);
            context.SetOutput("cachedFiles", 0);
            context.SetOutput("cached", false);
            return ActivityResult.Done;
        }

        string modelPath = Confine(context, ModelFile);
        bool isDirectory = Directory.Exists(modelPath);
        string directory = isDirectory ? modelPath : Path.GetDirectoryName(modelPath)!;
        var facts = await ModelValidationActivity.InspectAsync(context, modelPath);
        var (entries, source) = await EntriesAsync(context, directory);

        // For a single file, only its own files (the GGUF and its split shards) are the model; a directory is all it lists.
        var modelFiles = facts.Files.Concat(isDirectory ? [] : SplitShards(modelPath)).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var listed = entries.ToDictionary(e => Path.GetFullPath(Path.Combine(directory, e.RelativePath)), StringComparer.Ordinal);
        var unlisted = modelFiles.Where(f => !listed.ContainsKey(f)).Select(f => Path.GetRelativePath(directory, f)).Order(StringComparer.Ordinal).ToList();
        if (unlisted.Count > 0)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ChecksumManifestIncomplete,
                $"The checksums ({source}) do not list {unlisted.Count} model file(s): {string.Join(", ", unlisted)}. Every weight file must be verified; regenerate the manifest with 'sha256sum <files> > SHA256SUMS' in '{directory}'.",
                retryable: false, new Dictionary<string, object?> { ["manifest"] = source, ["unlisted"] = unlisted });
        }

        var toVerify = isDirectory ? entries : [.. entries.Where(e => modelFiles.Contains(Path.GetFullPath(Path.Combine(directory, e.RelativePath))))];
        foreach (var entry in toVerify)
        {
            Confine(context, Path.Combine(directory, entry.RelativePath));
        }

        var report = await VerifyAsync(context, toVerify, directory, source);
        var mismatch = report.Results.FirstOrDefault(r => r.Status == ChecksumStatus.Mismatch);
        var missing = report.Missing.Select(r => r.Entry.RelativePath).ToList();
        if (missing.Count > 0)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ChecksumMismatch,
                $"{missing.Count} file(s) listed in the checksums ({source}) are missing from '{directory}': {string.Join(", ", missing)}. The download is incomplete; download them again.",
                retryable: false, new Dictionary<string, object?> { ["manifest"] = source, ["missing"] = missing });
        }

        if (mismatch is not null)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ChecksumMismatch,
                $"'{mismatch.Entry.RelativePath}' does not match its checksum ({source}): expected {mismatch.Entry.Sha256}, the file's SHA-256 is {mismatch.ActualSha256}. The file is corrupt or not the one that was approved; download it again.",
                retryable: false, new Dictionary<string, object?>
                {
                    ["manifest"] = source,
                    ["file"] = mismatch.Entry.RelativePath,
                    ["expected"] = mismatch.Entry.Sha256,
                    ["actual"] = mismatch.ActualSha256,
                    ["hashedBytes"] = report.HashedBytes,
                });
        }

        double ms = StepJournal.ElapsedMs(context, started);
        context.Log(LogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"Verified {report.Results.Count} file(s) against {source}: {report.HashedBytes} bytes hashed, {report.CachedFiles} file(s) unchanged since they were last hashed"),
            new Dictionary<string, object?>
            {
                ["manifest"] = source,
                ["files"] = report.Results.Count,
                ["hashedBytes"] = report.HashedBytes,
                ["cachedFiles"] = report.CachedFiles,
                ["durationMs"] = ms,
                ["megabytesPerSecond"] = ms > 0 ? Math.Round(report.HashedBytes / 1e6 / (ms / 1000), 1) : null,
            });
        context.SetOutput("verified", true);
        context.SetOutput("manifest", source);
        context.SetOutput("files", new JsonArray([.. report.Results.Select(r => (JsonNode?)new JsonObject
        {
            ["file"] = r.Entry.RelativePath,
            ["bytes"] = r.Bytes,
            ["sha256"] = r.ActualSha256,
            ["cached"] = r.Cached,
        })]));
        context.SetOutput("hashedBytes", report.HashedBytes);
        context.SetOutput("cachedFiles", report.CachedFiles);
        context.SetOutput("cached", report.Results.Count > 0 && report.CachedFiles == report.Results.Count);
        return ActivityResult.Done;
    }

    /// <summary>The other shards of a split GGUF (<c>name-00001-of-00003.gguf</c>), which llama.cpp loads with the first.</summary>
    internal static IEnumerable<string> SplitShards(string ggufPath)
    {
        var match = SplitGguf().Match(Path.GetFileName(ggufPath));
        if (!match.Success || !int.TryParse(match.Groups[3].Value, CultureInfo.InvariantCulture, out int count))
        {
            yield break;
        }

        string directory = Path.GetDirectoryName(ggufPath)!;
        for (int i = 1; i <= count; i++)
        {
            yield return Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"{match.Groups[1].Value}-{i:D5}-of-{match.Groups[3].Value}.gguf"));
        }
    }

    [GeneratedRegex(@"^(.*)-(\d{5})-of-(\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex SplitGguf();

    private string Confine(ActivityContext context, string path)
    {
        try
        {
            return paths.Resolve(path, mustExist: false);
        }
        catch (ModelFormatException e)
        {
            throw ModelValidationActivity.ModelError(context, e);
        }
    }

    private async Task<(IReadOnlyList<ChecksumEntry> Entries, string Source)> EntriesAsync(ActivityContext context, string directory)
    {
        try
        {
            if (Checksums is { Count: > 0 })
            {
                // Through the manifest parser, so inline checksums obey the same rules (hex, relative, inside the directory).
                var text = new StringBuilder();
                foreach (var (file, sha256) in Checksums)
                {
                    text.Append(sha256).Append("  ").Append(file).Append('\n');
                }

                return (ChecksumManifest.Parse(text.ToString(), InlineManifest), InlineManifest);
            }

            if (Manifest is not null)
            {
                string manifest = Confine(context, Manifest);
                if (!File.Exists(manifest))
                {
                    throw StepJournal.Fail(context, LlmErrorTypes.ChecksumManifestMissing,
                        $"The manifest '{Manifest}' ('{manifest}') does not exist. Give an existing sha256sum-format file inside a model root, or leave 'manifest' out to use SHA256SUMS next to the model.",
                        retryable: false, new Dictionary<string, object?> { ["manifest"] = manifest });
                }

                return (await ChecksumVerifier.ReadManifestAsync(manifest, context.CancellationToken), manifest);
            }

            var names = storage.Value.EffectiveManifestNames;
            string? found = names.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
            if (found is null)
            {
                throw StepJournal.Fail(context, LlmErrorTypes.ChecksumManifestMissing,
                    $"No SHA-256 manifest next to the model: '{directory}' has no {string.Join(" or ", names)}. Create one with 'sha256sum <files> > SHA256SUMS' in that directory, give the step a 'manifest' or inline 'checksums', or deploy with verifyChecksums false.",
                    retryable: false, new Dictionary<string, object?> { ["directory"] = directory, ["manifestNames"] = names });
            }

            Confine(context, found);
            return (await ChecksumVerifier.ReadManifestAsync(found, context.CancellationToken), found);
        }
        catch (ModelFormatException e)
        {
            throw ModelValidationActivity.ModelError(context, e);
        }
    }

    private async Task<ChecksumReport> VerifyAsync(ActivityContext context, IReadOnlyList<ChecksumEntry> entries, string directory, string source)
    {
        var options = new ChecksumVerifierOptions
        {
            MaxParallelism = Parallelism > 0 ? Parallelism : Environment.ProcessorCount,
            Cache = cache,
            StopAtFirstMismatch = true,
        };
        try
        {
            return await ChecksumVerifier.VerifyEntriesAsync(entries, directory, source, options, context.CancellationToken);
        }
        catch (UnauthorizedAccessException e)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ModelUnreadable, $"A model file in '{directory}' cannot be read by the server: {e.Message} Give the server's user read access.", retryable: false,
                new Dictionary<string, object?> { ["directory"] = directory }, e);
        }
        catch (IOException e)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ModelReadFailed, $"Reading the model files in '{directory}' failed: {e.Message}", retryable: true,
                new Dictionary<string, object?> { ["directory"] = directory }, e);
        }
    }
}
