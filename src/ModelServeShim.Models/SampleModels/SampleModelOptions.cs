using ModelServeShim.Models.Gguf;

namespace ModelServeShim.Models.SampleModels;

/// <summary>Shape of a generated sample model. Defaults give a ~0.5 MB llama that llama.cpp loads and runs in milliseconds.</summary>
public sealed record SampleModelOptions
{
    /// <summary>Seed for the weights; the same options always produce the same bytes.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary><see cref="GgmlType.F32"/> or <see cref="GgmlType.F16"/> for the matrices (norm vectors are always F32, as llama.cpp's converters write them).</summary>
    public GgmlType WeightType { get; init; } = GgmlType.F32;

    public int EmbeddingLength { get; init; } = 64;

    public int Layers { get; init; } = 2;

    public int AttentionHeads { get; init; } = 4;

    public int KvHeads { get; init; } = 2;

    public int FeedForwardLength { get; init; } = 128;

    /// <summary>Vocabulary size: 3 special tokens, 256 byte tokens, then ordinary pieces. At least 300.</summary>
    public int VocabSize { get; init; } = 384;

    public int ContextLength { get; init; } = 256;

    public string Name { get; init; } = "ModelServeShim sample llama";

    /// <summary>File name used when writing into a directory, e.g. <c>sample-llama-f32.gguf</c>.</summary>
    public string FileName => $"sample-llama-{WeightType.ToString().ToLowerInvariant()}.gguf";

    internal void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
            }
        }

        Positive(EmbeddingLength, nameof(EmbeddingLength));
        Positive(Layers, nameof(Layers));
        Positive(AttentionHeads, nameof(AttentionHeads));
        Positive(KvHeads, nameof(KvHeads));
        Positive(FeedForwardLength, nameof(FeedForwardLength));
        Positive(ContextLength, nameof(ContextLength));
        if (WeightType is not (GgmlType.F32 or GgmlType.F16))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightType), WeightType, "Sample models are written as F32 or F16.");
        }

        if (EmbeddingLength % AttentionHeads != 0 || (EmbeddingLength / AttentionHeads) % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(AttentionHeads), AttentionHeads, "EmbeddingLength must divide into AttentionHeads heads of even size (RoPE rotates pairs).");
        }

        if (AttentionHeads % KvHeads != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(KvHeads), KvHeads, "AttentionHeads must be a multiple of KvHeads.");
        }

        if (VocabSize is < SampleVocabulary.MinimumSize or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(VocabSize), VocabSize, $"VocabSize must be between {SampleVocabulary.MinimumSize} and 65536.");
        }
    }
}
