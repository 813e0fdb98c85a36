using System.Buffers.Binary;
using ModelServeShim.Models.Gguf;

namespace ModelServeShim.Models.SampleModels;

/// <summary>
/// Generates a tiny random-weight llama-architecture GGUF with every metadata key llama.cpp needs and a
/// working SentencePiece-style tokenizer. Useful to exercise a serving stack end to end without
/// downloading a model. Output is deterministic for given <see cref="SampleModelOptions"/>.
/// </summary>
public static class SampleModelGenerator
{
    /// <summary>Writes the sample model to <paramref name="destination"/>.</summary>
    public static Task WriteAsync(Stream destination, SampleModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return CreateWriter(options ?? new SampleModelOptions()).WriteAsync(destination, cancellationToken);
    }

    /// <summary>
    /// Writes the sample model to <paramref name="path"/> (via a temporary file renamed into place, so a
    /// reader never sees half a file) and returns the full path.
    /// </summary>
    public static async Task<string> WriteFileAsync(string path, SampleModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            {
                await WriteAsync(stream, options, cancellationToken);
            }

            File.Move(temp, fullPath, overwrite: true);
            return fullPath;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Writes <see cref="SampleModelOptions.FileName"/> into <paramref name="directory"/> (created if needed) and returns its full path.</summary>
    public static Task<string> WriteToDirectoryAsync(string directory, SampleModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new SampleModelOptions();
        return WriteFileAsync(Path.Combine(directory, options.FileName), options, cancellationToken);
    }

    internal static GgufWriter CreateWriter(SampleModelOptions options)
    {
        options.Validate();
        var vocab = SampleVocabulary.Build(options.VocabSize);
        int nEmbd = options.EmbeddingLength;
        int headDim = nEmbd / options.AttentionHeads;
        int nEmbdKv = headDim * options.KvHeads;
        int nVocab = options.VocabSize;
        int nFf = options.FeedForwardLength;

        var writer = new GgufWriter();
        writer.AddMetadata("general.architecture", GgufValue.FromString("llama"))
            .AddMetadata("general.name", GgufValue.FromString(options.Name))
            .AddMetadata("general.file_type", GgufValue.FromUInt32(options.WeightType == GgmlType.F16 ? 1u : 0u))
            .AddMetadata("llama.context_length", GgufValue.FromUInt32((uint)options.ContextLength))
            .AddMetadata("llama.embedding_length", GgufValue.FromUInt32((uint)nEmbd))
            .AddMetadata("llama.block_count", GgufValue.FromUInt32((uint)options.Layers))
            .AddMetadata("llama.feed_forward_length", GgufValue.FromUInt32((uint)nFf))
            .AddMetadata("llama.rope.dimension_count", GgufValue.FromUInt32((uint)headDim))
            .AddMetadata("llama.attention.head_count", GgufValue.FromUInt32((uint)options.AttentionHeads))
            .AddMetadata("llama.attention.head_count_kv", GgufValue.FromUInt32((uint)options.KvHeads))
            .AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.FromFloat32(1e-5f))
            .AddMetadata("llama.rope.freq_base", GgufValue.FromFloat32(10000f))
            .AddMetadata("llama.vocab_size", GgufValue.FromUInt32((uint)nVocab))
            .AddMetadata("tokenizer.ggml.model", GgufValue.FromString("llama"))
            .AddMetadata("tokenizer.ggml.tokens", GgufValue.FromArray(new GgufArray(vocab.Tokens.ToArray())))
            .AddMetadata("tokenizer.ggml.scores", GgufValue.FromArray(new GgufArray(vocab.Scores.ToArray())))
            .AddMetadata("tokenizer.ggml.token_type", GgufValue.FromArray(new GgufArray(vocab.TokenTypes.ToArray())))
            .AddMetadata("tokenizer.ggml.bos_token_id", GgufValue.FromUInt32(SampleVocabulary.BosId))
            .AddMetadata("tokenizer.ggml.eos_token_id", GgufValue.FromUInt32(SampleVocabulary.EosId))
            .AddMetadata("tokenizer.ggml.unknown_token_id", GgufValue.FromUInt32(SampleVocabulary.UnknownId))
            .AddMetadata("tokenizer.ggml.add_bos_token", GgufValue.FromBool(true))
            .AddMetadata("tokenizer.ggml.add_eos_token", GgufValue.FromBool(false));

        var random = new SplitMix64(options.Seed);
        void Matrix(string name, int inner, int outer) =>
            writer.AddTensor(name, [inner, outer], options.WeightType, RandomData(random, inner * outer, 1f / MathF.Sqrt(inner), options.WeightType));
        void Norm(string name) =>
            writer.AddTensor(name, [nEmbd], GgmlType.F32, Ones(nEmbd));

        Matrix("token_embd.weight", nEmbd, nVocab);
        for (int i = 0; i < options.Layers; i++)
        {
            Norm($"blk.{i}.attn_norm.weight");
            Matrix($"blk.{i}.attn_q.weight", nEmbd, headDim * options.AttentionHeads);
            Matrix($"blk.{i}.attn_k.weight", nEmbd, nEmbdKv);
            Matrix($"blk.{i}.attn_v.weight", nEmbd, nEmbdKv);
            Matrix($"blk.{i}.attn_output.weight", headDim * options.AttentionHeads, nEmbd);
            Norm($"blk.{i}.ffn_norm.weight");
            Matrix($"blk.{i}.ffn_gate.weight", nEmbd, nFf);
            Matrix($"blk.{i}.ffn_up.weight", nEmbd, nFf);
            Matrix($"blk.{i}.ffn_down.weight", nFf, nEmbd);
        }

        Norm("output_norm.weight");
        Matrix("output.weight", nEmbd, nVocab);
        return writer;
    }

    private static byte[] Ones(int count)
    {
        var bytes = new byte[count * 4];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), 1f);
        }

        return bytes;
    }

    private static byte[] RandomData(SplitMix64 random, int count, float scale, GgmlType type)
    {
        int size = type == GgmlType.F16 ? 2 : 4;
        var bytes = new byte[count * size];
        for (int i = 0; i < count; i++)
        {
            float value = random.NextSymmetric() * scale;
            if (type == GgmlType.F16)
            {
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)value);
            }
            else
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), value);
            }
        }

        return bytes;
    }

    /// <summary>SplitMix64: tiny, fast and fixed forever, so samples stay byte-identical across .NET versions.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        /// <summary>Uniform in [-1, 1).</summary>
        public float NextSymmetric()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return ((z >> 40) / (float)(1UL << 24) * 2f) - 1f;
        }
    }
}
