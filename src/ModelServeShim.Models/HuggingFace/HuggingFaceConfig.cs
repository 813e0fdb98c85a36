using System.Text.Json;

namespace ModelServeShim.Models.HuggingFace;

/// <summary>
/// The values of a Hugging Face <c>config.json</c> that describe the transformer's shape. Reads the
/// common aliases (<c>n_layer</c>, <c>n_head</c>, <c>n_positions</c>, …) and, for multimodal models,
/// falls back to <c>text_config</c>.
/// </summary>
public sealed record HuggingFaceConfig
{
    public IReadOnlyList<string> Architectures { get; init; } = [];

    public string? ModelType { get; init; }

    public required int NumHiddenLayers { get; init; }

    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c>, defaulting to <see cref="NumAttentionHeads"/>.</summary>
    public required int NumKeyValueHeads { get; init; }

    public required int HiddenSize { get; init; }

    /// <summary><c>head_dim</c>, defaulting to <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public required int HeadDim { get; init; }

    public int? MaxPositionEmbeddings { get; init; }

    /// <summary><c>torch_dtype</c> (or the newer <c>dtype</c>), e.g. <c>bfloat16</c>.</summary>
    public string? TorchDtype { get; init; }

    /// <summary><c>quantization_config.quant_method</c>, e.g. <c>gptq</c>, <c>awq</c>, <c>fp8</c>.</summary>
    public string? QuantMethod { get; init; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException"><see cref="ModelErrorCode.ConfigMissing"/> or <see cref="ModelErrorCode.InvalidConfig"/>.</exception>
    public static async Task<HuggingFaceConfig> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxConfigBytes)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' is {info.Length} bytes; a config.json over {MaxConfigBytes} bytes is not a model config.");
            }

            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(ModelErrorCode.ConfigMissing, path, $"'{path}' does not exist. A Hugging Face model directory needs the config.json from the model repository next to the weights; download it too.", e);
        }

        return Parse(path, bytes);
    }

    private const int MaxConfigBytes = 16 * 1024 * 1024;

    /// <summary>Parses config.json content; <paramref name="path"/> is used in errors.</summary>
    public static HuggingFaceConfig Parse(string path, ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64, AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' is not valid JSON ({e.Message}). Download config.json again.", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' is not a JSON object.");
            }

            // Multimodal configs (Llama 4, Gemma 3, Mistral 3 …) keep the language model's shape in text_config.
            var shape = root;
            if (FindInt(root, "num_hidden_layers", "n_layer", "num_layers") is null
                && root.TryGetProperty("text_config", out var textConfig) && textConfig.ValueKind == JsonValueKind.Object)
            {
                shape = textConfig;
            }

            int Require(string key, params string[] aliases) =>
                FindInt(shape, [key, .. aliases]) is { } v && v > 0
                    ? v
                    : throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' has no positive integer '{key}'{(aliases.Length > 0 ? $" (or {string.Join(", ", aliases)})" : string.Empty)}. It is needed to size the model; use the config.json from the model repository.");

            int layers = Require("num_hidden_layers", "n_layer", "num_layers");
            int heads = Require("num_attention_heads", "n_head", "num_heads");
            int hidden = Require("hidden_size", "n_embd", "d_model");
            int kvHeads = FindInt(shape, "num_key_value_heads", "num_kv_heads", "n_head_kv") ?? heads;
            int? headDim = FindInt(shape, "head_dim");
            if (headDim is null && hidden % heads != 0)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' has hidden_size {hidden} not divisible by num_attention_heads {heads} and no head_dim.");
            }

            if (kvHeads <= 0 || heads % kvHeads != 0)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidConfig, path, $"'{path}' has num_key_value_heads {kvHeads}, which does not divide num_attention_heads {heads}.");
            }

            string? quantMethod = root.TryGetProperty("quantization_config", out var q) && q.ValueKind == JsonValueKind.Object
                ? FindString(q, "quant_method")
                : null;

            return new HuggingFaceConfig
            {
                Architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
                    ? [.. a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
                    : [],
                ModelType = FindString(root, "model_type"),
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                NumKeyValueHeads = kvHeads,
                HiddenSize = hidden,
                HeadDim = headDim is > 0 ? headDim.Value : hidden / heads,
                MaxPositionEmbeddings = FindInt(shape, "max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"),
                TorchDtype = FindString(root, "torch_dtype", "dtype") ?? FindString(shape, "torch_dtype", "dtype"),
                QuantMethod = quantMethod,
            };
        }
    }

    private static int? FindInt(JsonElement element, params string[] keys)
    {
        foreach (string key in keys)
        {
            if (element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i))
            {
                return i;
            }
        }

        return null;
    }

    private static string? FindString(JsonElement element, params string[] keys)
    {
        foreach (string key in keys)
        {
            if (element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String)
            {
                return v.GetString();
            }
        }

        return null;
    }
}
