using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelServeShim.Models.Gguf;

/// <summary>Turns GGUF headers into <see cref="ModelFacts"/>, following llama.cpp's metadata keys.</summary>
public static partial class GgufModelFacts
{
    /// <summary>
    /// Reads <paramref name="path"/> and, for a split model (<c>name-00001-of-00003.gguf</c> with
    /// <c>split.count</c>), every sibling split, and describes the whole model.
    /// </summary>
    /// <exception cref="ModelFormatException">A split is missing (<see cref="ModelErrorCode.ShardMissing"/>) or a header is invalid.</exception>
    public static ModelFacts Inspect(string path, GgufReadLimits? limits = null, CancellationToken cancellationToken = default)
    {
        var first = GgufReader.Read(path, limits, cancellationToken);
        var files = new List<GgufFile> { first };
        long splitCount = first.GetInteger("split.count") ?? 1;
        if (splitCount > 1)
        {
            var match = SplitName().Match(Path.GetFileName(path));
            if (!match.Success || match.Groups[1].Value != "00001")
            {
                throw new ModelFormatException(ModelErrorCode.UnsupportedFormat, path, $"'{path}' is one of {splitCount} splits of a model; point at the first split, named like 'model-00001-of-{splitCount:D5}.gguf'.");
            }

            string prefix = path[..^match.Length];
            var splitPaths = Enumerable.Range(2, (int)Math.Min(splitCount, 9999) - 1)
                .Select(i => $"{prefix}-{i.ToString("D5", CultureInfo.InvariantCulture)}-of-{match.Groups[2].Value}.gguf")
                .ToList();
            var missing = splitPaths.Where(p => !File.Exists(p)).ToList();
            if (missing.Count > 0)
            {
                throw new ModelFormatException(ModelErrorCode.ShardMissing, path, $"{missing.Count} of {splitCount} splits of '{path}' are missing: {string.Join(", ", missing.Select(Path.GetFileName))}. Download every split into the same directory.")
                {
                    RelatedFiles = missing,
                };
            }

            files.AddRange(splitPaths.Select(p => GgufReader.Read(p, limits, cancellationToken)));
        }

        return FromFiles(files);
    }

    /// <summary>Describes a model from its parsed header(s); metadata is taken from the first file.</summary>
    public static ModelFacts FromFiles(IReadOnlyList<GgufFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var gguf = files[0];
        string path = gguf.Path;
        string architecture = gguf.Architecture
            ?? throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"'{path}' has no general.architecture; llama.cpp cannot load it. Convert the model again with a current llama.cpp.");

        int Require(string suffix) =>
            gguf.GetIntegerOrMax($"{architecture}.{suffix}") is { } v && v > 0 && v <= int.MaxValue
                ? (int)v
                : throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"'{path}' lacks a positive {architecture}.{suffix}; it is not a transformer language model this shim can size.");

        int layers = Require("block_count");
        int heads = Require("attention.head_count");
        int kvHeads = gguf.GetIntegerOrMax($"{architecture}.attention.head_count_kv") is { } kv and > 0 and <= int.MaxValue ? (int)kv : heads;
        long? embedding = gguf.GetInteger($"{architecture}.embedding_length");
        long? keyLength = gguf.GetInteger($"{architecture}.attention.key_length");
        int headDim = keyLength is > 0 and <= int.MaxValue
            ? (int)keyLength
            : embedding is > 0 and <= int.MaxValue ? (int)(embedding.Value / heads) : 0;
        long? context = gguf.GetInteger($"{architecture}.context_length");

        var tensors = files.SelectMany(f => f.Tensors).ToList();
        string? fileType = gguf.GetInteger("general.file_type") is { } ft and >= 0 and <= uint.MaxValue ? GgmlTypeTable.FileTypeName((uint)ft) : null;
        string dominant = tensors
            .GroupBy(t => t.Type)
            .OrderByDescending(g => g.Sum(t => t.ByteSize))
            .Select(g => g.Key.ToString())
            .FirstOrDefault() ?? "unknown";
        string? tokenizer = gguf.GetString("tokenizer.ggml.model");

        return new ModelFacts
        {
            Format = ModelFormat.Gguf,
            Architecture = architecture,
            ParameterCount = tensors.Sum(t => t.ElementCount),
            DataType = fileType ?? dominant,
            ContextLength = context is > 0 and <= int.MaxValue ? (int)context : null,
            Layers = layers,
            AttentionHeads = heads,
            KvHeads = kvHeads,
            HeadDim = headDim,
            HiddenSize = embedding is > 0 and <= int.MaxValue ? (int)embedding : null,
            WeightBytes = tensors.Sum(t => t.ByteSize),
            Files = [.. files.Select(f => f.Path)],
            TokenizerFiles = tokenizer is null ? [] : [$"gguf:tokenizer.ggml.model={tokenizer}"],
        };
    }

    [GeneratedRegex(@"-(\d{5})-of-(\d{5})\.gguf$", RegexOptions.IgnoreCase)]
    private static partial Regex SplitName();
}
