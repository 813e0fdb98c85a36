using System.Text.Json;
using ModelServeShim.Models.Tests.Safetensors;

namespace ModelServeShim.Models.Tests.HuggingFace;

/// <summary>
/// Writes a small but complete Llama-shaped Hugging Face directory (hidden 64, 2 layers, 4 heads, 2 KV heads,
/// FFN 128, vocab 320, BF16) as real files: config.json, safetensors weights (single or 2 shards + index),
/// and tokenizer files.
/// </summary>
internal static class TinyLlamaDirectory
{
    public const int Hidden = 64;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int Ffn = 128;
    public const int Vocab = 320;

    /// <summary>Every tensor's element count summed: 2 × vocab × hidden + final norm + per layer (2 norms, q, k, v, o, gate, up, down).</summary>
    public const long ParameterCount = (2L * Vocab * Hidden) + Hidden
        + (Layers * ((2L * Hidden) + (Hidden * Hidden) + (2L * (Hidden / Heads * KvHeads) * Hidden) + (Hidden * Hidden) + (3L * Ffn * Hidden)));

    public static string ConfigJson(int? kvHeads = KvHeads, int? headDim = null) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["architectures"] = new[] { "LlamaForCausalLM" },
        ["model_type"] = "llama",
        ["hidden_size"] = Hidden,
        ["intermediate_size"] = Ffn,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = kvHeads,
        ["head_dim"] = headDim,
        ["max_position_embeddings"] = 256,
        ["vocab_size"] = Vocab,
        ["torch_dtype"] = "bfloat16",
    }.Where(kv => kv.Value is not null).ToDictionary());

    public static IEnumerable<TestTensor> LayerTensors(int layer)
    {
        string p = $"model.layers.{layer}.";
        int kv = Hidden / Heads * KvHeads;
        yield return new(p + "input_layernorm.weight", "BF16", Hidden);
        yield return new(p + "self_attn.q_proj.weight", "BF16", Hidden, Hidden);
        yield return new(p + "self_attn.k_proj.weight", "BF16", kv, Hidden);
        yield return new(p + "self_attn.v_proj.weight", "BF16", kv, Hidden);
        yield return new(p + "self_attn.o_proj.weight", "BF16", Hidden, Hidden);
        yield return new(p + "post_attention_layernorm.weight", "BF16", Hidden);
        yield return new(p + "mlp.gate_proj.weight", "BF16", Ffn, Hidden);
        yield return new(p + "mlp.up_proj.weight", "BF16", Ffn, Hidden);
        yield return new(p + "mlp.down_proj.weight", "BF16", Hidden, Ffn);
    }

    public static IReadOnlyList<TestTensor> FirstShard =>
        [new("model.embed_tokens.weight", "BF16", Vocab, Hidden), .. LayerTensors(0)];

    public static IReadOnlyList<TestTensor> SecondShard =>
        [.. LayerTensors(1), new("model.norm.weight", "BF16", Hidden), new("lm_head.weight", "BF16", Vocab, Hidden)];

    public static async Task WriteSingleAsync(string dir)
    {
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), ConfigJson());
        await SafetensorsTestFile.WriteAsync(Path.Combine(dir, "model.safetensors"), [.. FirstShard, .. SecondShard], new Dictionary<string, string> { ["format"] = "pt" });
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer_config.json"), "{}");
    }

    public const string Shard1 = "model-00001-of-00002.safetensors";
    public const string Shard2 = "model-00002-of-00002.safetensors";

    public static async Task WriteShardedAsync(string dir)
    {
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), ConfigJson());
        await SafetensorsTestFile.WriteAsync(Path.Combine(dir, Shard1), FirstShard, new Dictionary<string, string> { ["format"] = "pt" });
        await SafetensorsTestFile.WriteAsync(Path.Combine(dir, Shard2), SecondShard, new Dictionary<string, string> { ["format"] = "pt" });
        var weightMap = FirstShard.ToDictionary(t => t.Name, _ => Shard1);
        foreach (var t in SecondShard)
        {
            weightMap[t.Name] = Shard2;
        }

        await File.WriteAllTextAsync(
            Path.Combine(dir, "model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = FirstShard.Concat(SecondShard).Sum(t => t.Bytes) }, weight_map = weightMap }));
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer.model"), "spm");
        await File.WriteAllTextAsync(Path.Combine(dir, "tokenizer_config.json"), "{}");
    }
}
