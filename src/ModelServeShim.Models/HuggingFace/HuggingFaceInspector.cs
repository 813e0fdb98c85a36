using System.Text.Json;
using ModelServeShim.Models.Safetensors;

namespace ModelServeShim.Models.HuggingFace;

/// <summary>
/// Inspects a Hugging Face model directory: config.json, the safetensors weights (a single
/// <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>) and the tokenizer files.
/// </summary>
public static class HuggingFaceInspector
{
    public const string ConfigFileName = "config.json";
    public const string SingleWeightsFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Tokenizer files looked for, in the order reported.</summary>
    public static IReadOnlyList<string> KnownTokenizerFiles { get; } =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];

    /// <exception cref="ModelFormatException">See <see cref="ModelFormatException.ErrorCode"/>: ModelNotFound, ConfigMissing, InvalidConfig, ShardMissing, UnsupportedFormat, InvalidHeader, TruncatedFile.</exception>
    public static async Task<HuggingFaceModel> InspectAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string dir = Path.GetFullPath(directory);
        if (!Directory.Exists(dir))
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, dir, $"Model directory '{dir}' does not exist.");
        }

        var config = await HuggingFaceConfig.ReadAsync(Path.Combine(dir, ConfigFileName), cancellationToken);

        string indexPath = Path.Combine(dir, IndexFileName);
        string singlePath = Path.Combine(dir, SingleWeightsFileName);
        List<SafetensorsFile> shards;
        bool sharded;
        if (File.Exists(indexPath))
        {
            shards = await ReadShardsAsync(dir, indexPath, cancellationToken);
            sharded = true;
        }
        else if (File.Exists(singlePath))
        {
            shards = [await SafetensorsReader.ReadAsync(singlePath, cancellationToken)];
            sharded = false;
        }
        else
        {
            bool hasPytorch = Directory.EnumerateFiles(dir, "*.bin").Any() || Directory.EnumerateFiles(dir, "*.pt").Any();
            throw hasPytorch
                ? new ModelFormatException(ModelErrorCode.UnsupportedFormat, dir, $"'{dir}' holds PyTorch pickle weights (*.bin/*.pt); only safetensors are supported. Download the safetensors revision of the model or convert it.")
                : new ModelFormatException(ModelErrorCode.ModelNotFound, dir, $"'{dir}' has no {SingleWeightsFileName} and no {IndexFileName}. Download the model weights into the directory.");
        }

        var tokenizerFiles = KnownTokenizerFiles.Where(f => File.Exists(Path.Combine(dir, f))).ToList();
        var facts = BuildFacts(config, shards, tokenizerFiles);
        return new HuggingFaceModel(dir, config, shards, sharded, tokenizerFiles, facts);
    }

    internal static ModelFacts BuildFacts(HuggingFaceConfig config, IReadOnlyList<SafetensorsFile> shards, IReadOnlyList<string> tokenizerFiles)
    {
        var tensors = shards.SelectMany(s => s.Tensors).ToList();
        string? dominant = tensors
            .GroupBy(t => t.Dtype, StringComparer.Ordinal)
            .OrderByDescending(g => g.Sum(t => t.ByteSize))
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key)
            .FirstOrDefault();
        return new ModelFacts
        {
            Format = ModelFormat.Safetensors,
            Architecture = config.ModelType ?? config.Architectures.FirstOrDefault() ?? "unknown",
            ModelClass = config.Architectures.FirstOrDefault(),
            ParameterCount = tensors.Sum(t => t.ElementCount),
            DataType = config.QuantMethod ?? dominant ?? config.TorchDtype ?? "unknown",
            ContextLength = config.MaxPositionEmbeddings,
            Layers = config.NumHiddenLayers,
            AttentionHeads = config.NumAttentionHeads,
            KvHeads = config.NumKeyValueHeads,
            HeadDim = config.HeadDim,
            HiddenSize = config.HiddenSize,
            WeightBytes = tensors.Sum(t => t.ByteSize),
            Files = [.. shards.Select(s => s.Path)],
            TokenizerFiles = tokenizerFiles,
        };
    }

    private static async Task<List<SafetensorsFile>> ReadShardsAsync(string dir, string indexPath, CancellationToken cancellationToken)
    {
        var weightMap = await ReadWeightMapAsync(indexPath, cancellationToken);
        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        string dirPrefix = Path.TrimEndingDirectorySeparator(dir) + Path.DirectorySeparatorChar;
        foreach (string shard in shardNames)
        {
            string full = Path.GetFullPath(Path.Combine(dir, shard));
            if (Path.IsPathRooted(shard) || !full.StartsWith(dirPrefix, StringComparison.Ordinal))
            {
                throw new ModelFormatException(ModelErrorCode.PathOutsideModelRoot, indexPath, $"'{indexPath}' names shard '{shard}', which is outside the model directory. Shards must be files inside '{dir}'.")
                {
                    RelatedFiles = [shard],
                };
            }
        }

        var missing = shardNames.Where(s => !File.Exists(Path.Combine(dir, s))).ToList();
        if (missing.Count > 0)
        {
            throw new ModelFormatException(ModelErrorCode.ShardMissing, indexPath, $"{missing.Count} of {shardNames.Count} shards named in '{indexPath}' are missing from '{dir}': {string.Join(", ", missing)}. The download is incomplete; download the missing shards.")
            {
                RelatedFiles = missing,
            };
        }

        var shards = new List<SafetensorsFile>(shardNames.Count);
        foreach (string shard in shardNames)
        {
            shards.Add(await SafetensorsReader.ReadAsync(Path.Combine(dir, shard), cancellationToken));
        }

        var byName = shards.ToDictionary(s => Path.GetFileName(s.Path), s => s.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (tensor, shard) in weightMap)
        {
            if (!byName[Path.GetFileName(shard)].Contains(tensor))
            {
                throw new ModelFormatException(ModelErrorCode.InvalidHeader, Path.Combine(dir, shard), $"'{indexPath}' maps tensor '{tensor}' to '{shard}', but that shard does not contain it. The index and the shards come from different revisions; download the model again.")
                {
                    TensorName = tensor,
                };
            }
        }

        return shards;
    }

    private static async Task<Dictionary<string, string>> ReadWeightMapAsync(string indexPath, CancellationToken cancellationToken)
    {
        ModelFormatException Invalid(string what, Exception? inner = null) =>
            inner is null
                ? new(ModelErrorCode.InvalidHeader, indexPath, $"'{indexPath}' is invalid: {what}. Download it again from the model repository.")
                : new(ModelErrorCode.InvalidHeader, indexPath, $"'{indexPath}' is invalid: {what}. Download it again from the model repository.", inner);

        if (new FileInfo(indexPath).Length > SafetensorsReader.MaxHeaderBytes)
        {
            throw Invalid($"it is larger than {SafetensorsReader.MaxHeaderBytes} bytes");
        }

        await using var stream = File.OpenRead(indexPath);
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(stream, new JsonDocumentOptions { MaxDepth = 16 }, cancellationToken);
        }
        catch (JsonException e)
        {
            throw Invalid($"not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("it has no \"weight_map\" object");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                {
                    throw Invalid($"weight_map entry '{entry.Name}' is not a file name");
                }

                result[entry.Name] = entry.Value.GetString()!;
            }

            if (result.Count == 0)
            {
                throw Invalid("its weight_map is empty");
            }

            return result;
        }
    }
}
