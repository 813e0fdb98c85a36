using System.Text.Json;
using ModelServeShim.Models.HuggingFace;

namespace ModelServeShim.Models.Tests.HuggingFace;

public sealed class HuggingFaceInspectorTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Inspect_SingleSafetensors_ReportsFacts()
    {
        string dir = _temp.Combine("tiny-llama");
        await TinyLlamaDirectory.WriteSingleAsync(dir);

        var facts = await ModelInspector.InspectAsync(dir);

        Assert.Equal(ModelFormat.Safetensors, facts.Format);
        Assert.Equal("llama", facts.Architecture);
        Assert.Equal("LlamaForCausalLM", facts.ModelClass);
        Assert.Equal(TinyLlamaDirectory.ParameterCount, facts.ParameterCount);
        Assert.Equal(115_008, facts.ParameterCount);
        Assert.Equal(TinyLlamaDirectory.ParameterCount * 2, facts.WeightBytes);
        Assert.Equal("BF16", facts.DataType);
        Assert.Equal(256, facts.ContextLength);
        Assert.Equal(2, facts.Layers);
        Assert.Equal(4, facts.AttentionHeads);
        Assert.Equal(2, facts.KvHeads);
        Assert.Equal(16, facts.HeadDim);
        Assert.Equal([Path.Combine(dir, "model.safetensors")], facts.Files);
        Assert.Equal(["tokenizer.json", "tokenizer_config.json"], facts.TokenizerFiles);
    }

    [Fact]
    public async Task Inspect_ShardedSafetensorsWithIndex_ReportsFactsAcrossShards()
    {
        string dir = _temp.Combine("tiny-llama-sharded");
        await TinyLlamaDirectory.WriteShardedAsync(dir);

        var model = await HuggingFaceInspector.InspectAsync(dir);

        Assert.True(model.IsSharded);
        Assert.Equal(2, model.Shards.Count);
        Assert.Equal(TinyLlamaDirectory.ParameterCount, model.Facts.ParameterCount);
        Assert.Equal(TinyLlamaDirectory.ParameterCount * 2, model.Facts.WeightBytes);
        Assert.Equal("BF16", model.Facts.DataType);
        Assert.Equal(2, model.Facts.Layers);
        Assert.Equal(
            [Path.Combine(dir, TinyLlamaDirectory.Shard1), Path.Combine(dir, TinyLlamaDirectory.Shard2)],
            model.Facts.Files);
        Assert.Equal(["tokenizer.model", "tokenizer_config.json"], model.TokenizerFiles);
        Assert.Equal("bfloat16", model.Config.TorchDtype);
    }

    [Fact]
    public async Task Inspect_ShardedSafetensorsWithMissingShard_ReportsShardMissing()
    {
        string dir = _temp.Combine("missing-shard");
        await TinyLlamaDirectory.WriteShardedAsync(dir);
        File.Delete(Path.Combine(dir, TinyLlamaDirectory.Shard2));

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.ShardMissing, error.ErrorCode);
        Assert.Equal(Path.Combine(dir, "model.safetensors.index.json"), error.Path);
        Assert.Equal([TinyLlamaDirectory.Shard2], error.RelatedFiles);
        Assert.Contains(TinyLlamaDirectory.Shard2, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_ShardedSafetensorsWithTruncatedShard_ReportsTruncatedFileNamingShard()
    {
        string dir = _temp.Combine("truncated-shard");
        await TinyLlamaDirectory.WriteShardedAsync(dir);
        string shard = Path.Combine(dir, TinyLlamaDirectory.Shard2);
        await using (var file = File.OpenWrite(shard))
        {
            file.SetLength(file.Length - 10);
        }

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.TruncatedFile, error.ErrorCode);
        Assert.Equal(shard, error.Path);
        Assert.Equal("lm_head.weight", error.TensorName);
    }

    [Fact]
    public async Task Inspect_IndexMapsTensorToWrongShard_ReportsInvalidHeader()
    {
        string dir = _temp.Combine("wrong-index");
        await TinyLlamaDirectory.WriteShardedAsync(dir);
        string index = Path.Combine(dir, "model.safetensors.index.json");
        string json = await File.ReadAllTextAsync(index);
        await File.WriteAllTextAsync(index, json.Replace("\"lm_head.weight\":\"" + TinyLlamaDirectory.Shard2, "\"lm_head.weight\":\"" + TinyLlamaDirectory.Shard1, StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Equal("lm_head.weight", error.TensorName);
    }

    [Fact]
    public async Task Inspect_IndexNamingShardOutsideDirectory_ReportsPathOutsideModelRoot()
    {
        string dir = _temp.Combine("escaping-index");
        await TinyLlamaDirectory.WriteShardedAsync(dir);
        string index = Path.Combine(dir, "model.safetensors.index.json");
        await File.WriteAllTextAsync(index, JsonSerializer.Serialize(new { weight_map = new Dictionary<string, string> { ["x"] = "../../etc/passwd" } }));

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, error.ErrorCode);
    }

    [Fact]
    public async Task Inspect_DirectoryWithoutConfig_ReportsConfigMissing()
    {
        string dir = _temp.Combine("no-config");
        await TinyLlamaDirectory.WriteSingleAsync(dir);
        File.Delete(Path.Combine(dir, "config.json"));

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.ConfigMissing, error.ErrorCode);
        Assert.Equal(Path.Combine(dir, "config.json"), error.Path);
    }

    [Fact]
    public async Task Inspect_DirectoryWithPytorchWeightsOnly_ReportsUnsupportedFormat()
    {
        string dir = _temp.Combine("pytorch");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), TinyLlamaDirectory.ConfigJson());
        await File.WriteAllBytesAsync(Path.Combine(dir, "pytorch_model.bin"), new byte[16]);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.UnsupportedFormat, error.ErrorCode);
    }

    [Fact]
    public async Task Inspect_DirectoryWithConfigButNoWeights_ReportsModelNotFound()
    {
        string dir = _temp.Combine("config-only");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), TinyLlamaDirectory.ConfigJson());

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(dir));

        Assert.Equal(ModelErrorCode.ModelNotFound, error.ErrorCode);
    }

    [Fact]
    public void ParseConfig_WithoutKvHeadsOrHeadDim_DefaultsFromAttentionHeads()
    {
        var config = HuggingFaceConfig.Parse("config.json", System.Text.Encoding.UTF8.GetBytes(TinyLlamaDirectory.ConfigJson(kvHeads: null)));

        Assert.Equal(4, config.NumKeyValueHeads);
        Assert.Equal(16, config.HeadDim);
    }

    [Fact]
    public void ParseConfig_MultimodalWithTextConfig_ReadsLanguageModelShape()
    {
        const string json = """
            {"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3","torch_dtype":"bfloat16",
             "text_config":{"hidden_size":2560,"num_hidden_layers":34,"num_attention_heads":8,"num_key_value_heads":4,"head_dim":256,"max_position_embeddings":131072},
             "vision_config":{"hidden_size":1152,"num_hidden_layers":27,"num_attention_heads":16}}
            """;

        var config = HuggingFaceConfig.Parse("config.json", System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal((34, 8, 4, 256, 131072), (config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, config.MaxPositionEmbeddings!.Value));
    }

    [Theory]
    [InlineData("""{"model_type":"llama","num_attention_heads":4,"hidden_size":64}""", "num_hidden_layers")]
    [InlineData("""{"model_type":"llama",""", "not valid JSON")]
    [InlineData("""{"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"hidden_size":64}""", "does not divide")]
    public void ParseConfig_Invalid_ReportsInvalidConfig(string json, string expectedText)
    {
        var error = Assert.Throws<ModelFormatException>(() => HuggingFaceConfig.Parse("/m/config.json", System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.Equal(ModelErrorCode.InvalidConfig, error.ErrorCode);
        Assert.Equal("/m/config.json", error.Path);
        Assert.Contains(expectedText, error.Message, StringComparison.Ordinal);
    }
}
