using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.Models.Tests.Gguf;

/// <summary>llama.cpp's gguf-split layout: name-00001-of-0000N.gguf, metadata in the first split, <c>split.count</c> set.</summary>
public sealed class GgufSplitTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private async Task<(string First, string Second)> WriteSplitsAsync()
    {
        string first = _temp.Combine("sample-00001-of-00002.gguf");
        string second = _temp.Combine("sample-00002-of-00002.gguf");
        var writer = SampleModelGenerator.CreateWriter(new SampleModelOptions())
            .AddMetadata("split.no", GgufValue.FromUInt16(0))
            .AddMetadata("split.count", GgufValue.FromUInt16(2));
        await using (var file = File.Create(first))
        {
            await writer.WriteAsync(file);
        }

        var rest = new GgufWriter()
            .AddMetadata("split.no", GgufValue.FromUInt16(1))
            .AddMetadata("split.count", GgufValue.FromUInt16(2))
            .AddTensor("extra.weight", [64], GgmlType.F32, new byte[256]);
        await using (var file = File.Create(second))
        {
            await rest.WriteAsync(file);
        }

        return (first, second);
    }

    [Fact]
    public async Task Inspect_SplitGguf_SumsTensorsOfEverySplit()
    {
        var (first, second) = await WriteSplitsAsync();
        long single = GgufReader.Read(first).ParameterCount;

        var facts = await ModelInspector.InspectAsync(first);

        Assert.Equal(single + 64, facts.ParameterCount);
        Assert.Equal([first, second], facts.Files);
    }

    [Fact]
    public async Task Inspect_SplitGgufWithMissingSplit_ReportsShardMissing()
    {
        var (first, second) = await WriteSplitsAsync();
        File.Delete(second);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(first));

        Assert.Equal(ModelErrorCode.ShardMissing, error.ErrorCode);
        Assert.Equal([second], error.RelatedFiles);
    }
}
