using System.Diagnostics;
using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.Models.Tests.Gguf;

public sealed class GgufReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Inspect_GeneratedSampleGguf_ReportsLlamaFacts()
    {
        string path = await SampleModelGenerator.WriteToDirectoryAsync(_temp.Path);

        var facts = await ModelInspector.InspectAsync(path);

        // token_embd + output (vocab × embd), output_norm, and per layer: 2 norms, q, k, v, o (k/v are 2 heads × 16), gate, up, down.
        const long perLayer = (2 * 64) + (64 * 64) + (2 * 64 * 32) + (64 * 64) + (3 * 64 * 128);
        const long parameters = (2 * 384 * 64) + 64 + (2 * perLayer);
        Assert.Equal(ModelFormat.Gguf, facts.Format);
        Assert.Equal("llama", facts.Architecture);
        Assert.Equal(parameters, facts.ParameterCount);
        Assert.Equal(parameters * 4, facts.WeightBytes);
        Assert.Equal("F32", facts.DataType);
        Assert.Equal(256, facts.ContextLength);
        Assert.Equal(2, facts.Layers);
        Assert.Equal(4, facts.AttentionHeads);
        Assert.Equal(2, facts.KvHeads);
        Assert.Equal(16, facts.HeadDim);
        Assert.Equal(64, facts.HiddenSize);
        Assert.Equal([path], facts.Files);
        Assert.Equal(["gguf:tokenizer.ggml.model=llama"], facts.TokenizerFiles);
    }

    [Fact]
    public async Task Read_GeneratedSampleGguf_ExposesMetadataTensorsAndAlignedDataSection()
    {
        string path = await SampleModelGenerator.WriteToDirectoryAsync(_temp.Path, new SampleModelOptions { WeightType = GgmlType.F16 });

        var gguf = GgufReader.Read(path);

        Assert.Equal(3u, gguf.Version);
        Assert.Equal(32u, gguf.Alignment);
        Assert.Equal(0, gguf.DataOffset % 32);
        Assert.Equal(gguf.FileLength, gguf.DataOffset + gguf.Tensors.Max(t => t.Offset + t.ByteSize));
        Assert.Equal(1, gguf.GetInteger("general.file_type"));
        var tokens = gguf.Metadata["tokenizer.ggml.tokens"].AsArray()!.As<string>()!;
        Assert.Equal(384, tokens.Length);
        Assert.Equal("<0x00>", tokens[SampleVocabulary.FirstByteTokenId]);
        Assert.Equal("<0xFF>", tokens[SampleVocabulary.FirstByteTokenId + 255]);
        var q = Assert.Single(gguf.Tensors, t => t.Name == "blk.0.attn_q.weight");
        Assert.Equal([64L, 64L], q.Dimensions);
        Assert.Equal(GgmlType.F16, q.Type);
        Assert.Equal(64 * 64 * 2, q.ByteSize);
        Assert.Equal(GgmlType.F32, Assert.Single(gguf.Tensors, t => t.Name == "output_norm.weight").Type);
    }

    [Fact]
    public async Task WriteSample_SameSeed_IsByteIdentical_AndOtherSeedDiffers()
    {
        static async Task<byte[]> Generate(ulong seed)
        {
            using var stream = new MemoryStream();
            await SampleModelGenerator.WriteAsync(stream, new SampleModelOptions { Seed = seed });
            return stream.ToArray();
        }

        var a = await Generate(1);
        Assert.Equal(a, await Generate(1));
        Assert.NotEqual(a, await Generate(2));
        Assert.InRange(a.Length, 400_000, 5_000_000);
    }

    [Fact]
    public async Task Read_TruncatedGguf_ReportsTruncatedFileNamingTensorAndMissingBytes()
    {
        string path = await SampleModelGenerator.WriteToDirectoryAsync(_temp.Path);
        long fullLength = new FileInfo(path).Length;
        await using (var file = File.OpenWrite(path))
        {
            file.SetLength(fullLength - 1000);
        }

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.TruncatedFile, error.ErrorCode);
        Assert.Equal(path, error.Path);
        Assert.Equal("output.weight", error.TensorName);
        Assert.Contains("'output.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("1000 bytes are missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_GgufCutInsideHeader_ReportsTruncatedFile()
    {
        string path = await SampleModelGenerator.WriteToDirectoryAsync(_temp.Path);
        await using (var file = File.OpenWrite(path))
        {
            file.SetLength(200);
        }

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.TruncatedFile, error.ErrorCode);
    }

    [Fact]
    public void Read_BadMagic_ReportsInvalidHeader()
    {
        string path = new GgufBytes().Raw("GGML"u8.ToArray()).U32(3).U64(0).U64(0).WriteTo(_temp.Combine("bad.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Equal(path, error.Path);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(4u)]
    [InlineData(0x03000000u)]
    public void Read_UnsupportedVersion_ReportsUnsupportedVersion(uint version)
    {
        string path = new GgufBytes().U32(GgufReader.Magic).U32(version).U64(0).U64(0).WriteTo(_temp.Combine("v.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.UnsupportedVersion, error.ErrorCode);
    }

    [Theory]
    [InlineData(0u, 1UL << 62, ModelErrorCode.InvalidHeader)] // uint8 array claiming 4 Ei elements: over the element limit
    [InlineData(8u, 1UL << 40, ModelErrorCode.InvalidHeader)] // string array claiming 1 Ti strings
    [InlineData(9u, 1_000_000UL, ModelErrorCode.TruncatedFile)] // array of arrays: a plausible count, but the file is far too short
    [InlineData(4u, 4_000_000UL, ModelErrorCode.TruncatedFile)] // uint32 array: 16 MB claimed in a tiny file
    public void Read_HostileHugeArrayLength_RefusedQuicklyWithoutAllocating(uint elementType, ulong count, ModelErrorCode expected)
    {
        string path = GgufBytes.Header(tensors: 0, metadata: 1)
            .Str("hostile.array").U32((uint)GgufValueType.Array).U32(elementType).U64(count)
            .Raw(new byte[64])
            .WriteTo(_temp.Combine("hostile.gguf"));
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(expected, error.ErrorCode);
        Assert.Contains("hostile.array", error.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore < 10_000_000, "the reader must not allocate for a length it has not validated");
    }

    [Fact]
    public void Read_HostileHugeStringLength_ReportsInvalidHeader()
    {
        string path = GgufBytes.Header(tensors: 0, metadata: 1)
            .U64(ulong.MaxValue - 3).Raw(new byte[32])
            .WriteTo(_temp.Combine("hostile-string.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
    }

    [Fact]
    public void Read_HostileTensorAndMetadataCounts_AreRefused()
    {
        string manyTensors = GgufBytes.Header(tensors: ulong.MaxValue, metadata: 0).WriteTo(_temp.Combine("t.gguf"));
        string manyEntries = GgufBytes.Header(tensors: 0, metadata: 100_000).Raw(new byte[100]).WriteTo(_temp.Combine("m.gguf"));

        Assert.Equal(ModelErrorCode.InvalidHeader, Assert.Throws<ModelFormatException>(() => GgufReader.Read(manyTensors)).ErrorCode);
        Assert.Equal(ModelErrorCode.TruncatedFile, Assert.Throws<ModelFormatException>(() => GgufReader.Read(manyEntries)).ErrorCode);
    }

    [Fact]
    public void Read_ArraysNestedBeyondLimit_ReportsInvalidHeader()
    {
        var bytes = GgufBytes.Header(tensors: 0, metadata: 1).Str("deep").U32((uint)GgufValueType.Array);
        for (int i = 0; i < 20; i++)
        {
            bytes.U32((uint)GgufValueType.Array).U64(1);
        }

        string path = bytes.Raw(new byte[300]).WriteTo(_temp.Combine("deep.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Contains("nests arrays", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_EveryMetadataValueType_RoundTripsThroughWriter()
    {
        var writer = new GgufWriter(alignment: 64)
            .AddMetadata("u8", GgufValue.FromUInt8(200))
            .AddMetadata("i8", GgufValue.FromInt8(-100))
            .AddMetadata("u16", GgufValue.FromUInt16(60000))
            .AddMetadata("i16", GgufValue.FromInt16(-30000))
            .AddMetadata("u32", GgufValue.FromUInt32(4_000_000_000))
            .AddMetadata("i32", GgufValue.FromInt32(-2_000_000_000))
            .AddMetadata("f32", GgufValue.FromFloat32(1.5f))
            .AddMetadata("bool", GgufValue.FromBool(true))
            .AddMetadata("str", GgufValue.FromString("héllo"))
            .AddMetadata("u64", GgufValue.FromUInt64(ulong.MaxValue))
            .AddMetadata("i64", GgufValue.FromInt64(long.MinValue))
            .AddMetadata("f64", GgufValue.FromFloat64(Math.PI))
            .AddMetadata("strings", GgufValue.FromArray(new GgufArray(new[] { "a", "", "ü" })))
            .AddMetadata("nested", GgufValue.FromArray(new GgufArray(new[] { new GgufArray(new[] { 1, 2 }), new GgufArray(new[] { new GgufArray(new[] { 0.5 }) }) })))
            .AddTensor("t", [32, 2], GgmlType.Q8_0, new byte[34 * 2])
            .AddTensor("u", [3], GgmlType.F32, new byte[12]);
        string path = _temp.Combine("all.gguf");
        await using (var file = File.Create(path))
        {
            await writer.WriteAsync(file);
        }

        var gguf = GgufReader.Read(path);

        Assert.Equal(64u, gguf.Alignment);
        Assert.Equal(0, gguf.DataOffset % 64);
        Assert.Equal((byte)200, gguf.Metadata["u8"].Value);
        Assert.Equal((sbyte)-100, gguf.Metadata["i8"].Value);
        Assert.Equal((ushort)60000, gguf.Metadata["u16"].Value);
        Assert.Equal((short)-30000, gguf.Metadata["i16"].Value);
        Assert.Equal(4_000_000_000u, gguf.Metadata["u32"].Value);
        Assert.Equal(-2_000_000_000, gguf.Metadata["i32"].Value);
        Assert.Equal(1.5f, gguf.Metadata["f32"].Value);
        Assert.Equal(true, gguf.Metadata["bool"].Value);
        Assert.Equal("héllo", gguf.GetString("str"));
        Assert.Equal(ulong.MaxValue, gguf.Metadata["u64"].Value);
        Assert.Null(gguf.Metadata["u64"].AsInt64());
        Assert.Equal(long.MinValue, gguf.GetInteger("i64"));
        Assert.Equal(Math.PI, gguf.Metadata["f64"].Value);
        Assert.Equal(["a", "", "ü"], gguf.Metadata["strings"].AsArray()!.As<string>()!);
        var nested = gguf.Metadata["nested"].AsArray()!.As<GgufArray>()!;
        Assert.Equal([1, 2], nested[0].As<int>()!);
        Assert.Equal([0.5], nested[1].As<GgufArray>()![0].As<double>()!);
        Assert.Equal(["t", "u"], gguf.Tensors.Select(t => t.Name));
        Assert.Equal(128, gguf.Tensors[1].Offset);
        Assert.Equal(68 + 12, gguf.TensorBytes);
    }

    [Fact]
    public void Read_UnknownTensorType_ReportsUnknownTensorTypeNamingTensor()
    {
        string path = GgufBytes.Header(tensors: 1, metadata: 0)
            .Str("weird.weight").U32(2).U64(32).U64(4).U32(31).U64(0)
            .Raw(new byte[512])
            .WriteTo(_temp.Combine("unknown-type.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.UnknownTensorType, error.ErrorCode);
        Assert.Equal("weird.weight", error.TensorName);
        Assert.Contains("31", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MisalignedTensorOffset_ReportsInvalidHeader()
    {
        string path = GgufBytes.Header(tensors: 1, metadata: 0)
            .Str("w").U32(1).U64(4).U32((uint)GgmlType.F32).U64(3)
            .Raw(new byte[64])
            .WriteTo(_temp.Combine("misaligned.gguf"));

        var error = Assert.Throws<ModelFormatException>(() => GgufReader.Read(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Equal("w", error.TensorName);
    }

    [Theory]
    [InlineData(GgmlType.F32, 4096L * 4096 * 4)]
    [InlineData(GgmlType.BF16, 4096L * 4096 * 2)]
    [InlineData(GgmlType.Q4_0, 4096L / 32 * 18 * 4096)]
    [InlineData(GgmlType.Q8_0, 4096L / 32 * 34 * 4096)]
    [InlineData(GgmlType.Q4_K, 4096L / 256 * 144 * 4096)]
    [InlineData(GgmlType.Q6_K, 4096L / 256 * 210 * 4096)]
    [InlineData(GgmlType.IQ4_XS, 4096L / 256 * 136 * 4096)]
    [InlineData(GgmlType.IQ2_XXS, 4096L / 256 * 66 * 4096)]
    public void ByteSize_SquareMatrix_MatchesGgmlBlockLayout(GgmlType type, long expected)
    {
        Assert.Equal(expected, GgmlTypeTable.ByteSize(type, [4096, 4096]));
    }

    [Fact]
    public void ByteSize_RowNotMultipleOfBlock_Throws()
    {
        Assert.Throws<ArgumentException>(() => GgmlTypeTable.ByteSize(GgmlType.Q4_K, [100, 2]));
    }
}
