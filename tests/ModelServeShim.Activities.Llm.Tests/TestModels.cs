using ModelServeShim.Models.SampleModels;
using ModelServeShim.Tests.Shared;

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
    public static Task<string> WriteSafetensorsAsync(string root, string relativeDirectory = "tiny-llama") =>
        SafetensorsTestFiles.WriteLlamaAsync(Path.Combine(root, relativeDirectory), new SafetensorsTestFiles.LlamaShape(
            Hidden: 64, Layers: 2, Heads: 4, KvHeads: 2, Intermediate: 128, Vocab: 320, ContextLength: 512));
}
