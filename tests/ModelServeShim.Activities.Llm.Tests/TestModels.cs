using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>Writes small but real model files into a model root.</summary>
public static class TestModels
{
    /// <summary>The sample GGUF (2 layers, 4 heads, 2 KV heads, head dim 16, context 256, F32).</summary>
    public static Task<string> WriteGgufAsync(string root, string relativeDirectory = "sample") =>
        SampleModelGenerator.WriteToDirectoryAsync(Path.Combine(root, relativeDirectory));

    /// <summary>
    /// A Llama-shaped Hugging Face directory: config.json (hidden 64, 2 layers, 4 heads, 2 KV heads, context 512),
    /// a real model.safetensors (header plus zeroed BF16 data) and tokenizer files.
    /// </summary>
    public static async Task<string> WriteSafetensorsAsync(string root, string relativeDirectory = "tiny-llama")
    {
        const int hidden = 64, layers = 2, heads = 4, kvHeads = 2, ffn = 128, vocab = 320;
        string dir = Directory.CreateDirectory(Path.Combine(root, relativeDirectory)).FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = hidden,
            ["intermediate_size"] = ffn,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads,
            ["max_position_embeddings"] = 512,
            ["vocab_size"] = vocab,
            ["torch_dtype"] = "bfloat16",
        }));
        var tensors = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [vocab, hidden]) };
        int kv = hidden / heads * kvHeads;
        for (int i = 0; i < layers; i++)
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
        tensors.Add(("lm_head.weight", [vocab, hidden]));
        await WriteSafetensorsFileAsync(Path.Combine(dir, "model.safetensors"), tensors);
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer_config.json"), "{}");
        return dir;
    }

    /// <summary>Writes a safetensors file as the Python library does (8-byte header length, JSON header padded to 8, BF16 data).</summary>
    private static async Task WriteSafetensorsFileAsync(string path, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
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
