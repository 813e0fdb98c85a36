using Microsoft.Extensions.Logging.Abstractions;
using ModelServeShim.LlamaServer.Hosting;
using ModelServeShim.LlamaServer.Inference;
using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.LlamaServer.Tests;

/// <summary>Chat prompts use the model's template when llama.cpp knows it, else the role-prefixed fallback.</summary>
public sealed class ChatTemplateTests
{
    private static readonly ChatTurn[] Messages = [new("system", "Be brief."), new("user", "hi")];

    [Fact]
    public async Task FormatChat_ModelWithAChatMlTemplate_UsesIt()
    {
        const string chatMl = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        using var temp = new TempDirectory();
        using var inference = await LoadAsync(await WriteSampleWithTemplateAsync(temp.Path, chatMl));

        Assert.True(inference.UsesModelChatTemplate);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", inference.FormatChat(Messages));
    }

    [Fact]
    public async Task FormatChat_ModelWithoutATemplate_UsesTheRolePrefixedFallback()
    {
        using var temp = new TempDirectory();
        using var inference = await LoadAsync(await SampleModelGenerator.WriteToDirectoryAsync(temp.Path));

        Assert.False(inference.UsesModelChatTemplate);
        Assert.Equal("system: Be brief.\nuser: hi\nassistant:", inference.FormatChat(Messages));
    }

    [Fact]
    public async Task FormatChat_TemplateLlamaCppDoesNotRecognise_FallsBack()
    {
        using var temp = new TempDirectory();
        using var inference = await LoadAsync(await WriteSampleWithTemplateAsync(temp.Path, "{{ nothing llama.cpp knows }}"));

        Assert.False(inference.UsesModelChatTemplate);
        Assert.Equal("system: Be brief.\nuser: hi\nassistant:", inference.FormatChat(Messages));
    }

    private static async Task<LlamaInference> LoadAsync(string model)
    {
        var inference = new LlamaInference(new ServerOptions { ModelPath = model, Alias = "t", ContextSize = 64 }, NullLoggerFactory.Instance);
        await inference.LoadAsync(CancellationToken.None);
        Assert.True(inference.Status == ModelStatus.Ready, inference.LoadError);
        return inference;
    }

    /// <summary>The default sample, re-written with a <c>tokenizer.chat_template</c> entry.</summary>
    private static async Task<string> WriteSampleWithTemplateAsync(string directory, string template)
    {
        string plain = await SampleModelGenerator.WriteToDirectoryAsync(Path.Combine(directory, "plain"));
        var file = GgufReader.Read(plain);
        var writer = new GgufWriter(file.Alignment);
        foreach (var (key, value) in file.MetadataInOrder)
        {
            writer.AddMetadata(key, value);
        }

        writer.AddMetadata("tokenizer.chat_template", GgufValue.FromString(template));
        byte[] bytes = await File.ReadAllBytesAsync(plain);
        foreach (var tensor in file.Tensors)
        {
            writer.AddTensor(tensor.Name, tensor.Dimensions, tensor.Type, bytes.AsMemory((int)(file.DataOffset + tensor.Offset), (int)tensor.ByteSize));
        }

        string path = Path.Combine(directory, "templated.gguf");
        await using (var stream = File.Create(path))
        {
            await writer.WriteAsync(stream);
        }

        return path;
    }
}
