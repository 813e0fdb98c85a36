using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace ModelServeShim.Tests.Shared;

/// <summary>
/// Writes Hugging Face model directories whose headers are real (config.json, safetensors headers) and whose
/// tensor data is a sparse hole: a model of any shape costs a few kilobytes of disk.
/// </summary>
public static class SafetensorsTestFiles
{
    /// <summary>A Llama-family shape as config.json states it.</summary>
    public sealed record LlamaShape(int Hidden, int Layers, int Heads, int KvHeads, int Intermediate, int Vocab, int ContextLength, bool TiedEmbeddings = false);

    /// <summary>Meta-Llama-3.1-8B (8,030,261,248 BF16 parameters, native context 131,072).</summary>
    public static readonly LlamaShape Llama31_8B = new(4096, 32, 32, 8, 14336, 128256, 131_072);

    /// <summary>Writes a Llama-shaped directory (config.json, one model.safetensors, tokenizer files) and returns its path.</summary>
    public static async Task<string> WriteLlamaAsync(string directory, LlamaShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        string dir = Directory.CreateDirectory(directory).FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = shape.Hidden,
            ["intermediate_size"] = shape.Intermediate,
            ["num_hidden_layers"] = shape.Layers,
            ["num_attention_heads"] = shape.Heads,
            ["num_key_value_heads"] = shape.KvHeads,
            ["max_position_embeddings"] = shape.ContextLength,
            ["vocab_size"] = shape.Vocab,
            ["tie_word_embeddings"] = shape.TiedEmbeddings,
            ["torch_dtype"] = "bfloat16",
        }));
        int hidden = shape.Hidden, ffn = shape.Intermediate;
        var tensors = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [shape.Vocab, hidden]) };
        int kv = hidden / shape.Heads * shape.KvHeads;
        for (int i = 0; i < shape.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            tensors.Add((p + "input_layernorm.weight", [hidden]));
            tensors.Add((p + "self_attn.q_proj.weight", [hidden, hidden]));
            tensors.Add((p + "self_attn.k_proj.weight", [kv, hidden]));
            tensors.Add((p + "self_attn.v_proj.weight", [kv, hidden]));
            tensors.Add((p + "self_attn.o_proj.weight", [hidden, hidden]));
            tensors.Add((p + "post_attention_layernorm.weight", [hidden]));
            tensors.Add((p + "mlp.gate_proj.weight", [ffn, hidden]));
            tensors.Add((p + "mlp.up_proj.weight", [ffn, hidden]));
            tensors.Add((p + "mlp.down_proj.weight", [hidden, ffn]));
        }

        tensors.Add(("model.norm.weight", [hidden]));
        if (!shape.TiedEmbeddings)
        {
            tensors.Add(("lm_head.weight", [shape.Vocab, hidden]));
        }

        await WriteSafetensorsFileAsync(Path.Combine(dir, "model.safetensors"), tensors);
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer_config.json"), "{}");
        return dir;
    }

    /// <summary>Writes a safetensors file as the Python library does (8-byte header length, JSON header padded to 8, BF16 data as a hole).</summary>
    public static async Task WriteSafetensorsFileAsync(string path, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new { dtype = "BF16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        await using var file = File.Create(path);
        await file.WriteAsync(prefix);
        await file.WriteAsync(json);
        await file.WriteAsync(Encoding.ASCII.GetBytes(new string(' ', padded - json.Length)));
        file.SetLength(file.Position + offset);
    }
}
