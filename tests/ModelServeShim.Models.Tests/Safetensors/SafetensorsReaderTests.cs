using System.Text;
using ModelServeShim.Models.Safetensors;

namespace ModelServeShim.Models.Tests.Safetensors;

public sealed class SafetensorsReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Read_ValidFile_ParsesTensorsOffsetsAndMetadata()
    {
        string path = _temp.Combine("model.safetensors");
        await SafetensorsTestFile.WriteAsync(path, [new("a", "F32", 2, 3), new("b", "BF16", 5), new("c", "I64")], new Dictionary<string, string> { ["format"] = "pt" });

        var file = await SafetensorsReader.ReadAsync(path);

        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(["a", "b", "c"], file.Tensors.Select(t => t.Name));
        Assert.Equal([2L, 3L], file.Tensors[0].Shape);
        Assert.Equal((0L, 24L), (file.Tensors[0].DataStart, file.Tensors[0].DataEnd));
        Assert.Equal((24L, 34L), (file.Tensors[1].DataStart, file.Tensors[1].DataEnd));
        Assert.Equal(1, file.Tensors[2].ElementCount); // a scalar has shape [] and one element
        Assert.Equal(6 + 5 + 1, file.ParameterCount);
        Assert.Equal(24 + 10 + 8, file.TensorBytes);
        Assert.Equal(0, file.HeaderLength % 8);
        Assert.Equal(file.FileLength, file.DataOffset + file.TensorBytes);
    }

    [Fact]
    public async Task Read_TruncatedFile_ReportsTruncatedFileNamingFileAndTensor()
    {
        string path = _temp.Combine("model.safetensors");
        await SafetensorsTestFile.WriteAsync(path, [new("first", "F16", 100), new("second", "F16", 100)]);
        await using (var file = File.OpenWrite(path))
        {
            file.SetLength(file.Length - 150);
        }

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => SafetensorsReader.ReadAsync(path));

        Assert.Equal(ModelErrorCode.TruncatedFile, error.ErrorCode);
        Assert.Equal(path, error.Path);
        Assert.Equal("second", error.TensorName); // "first" is bytes 0..200 of the buffer, "second" 200..400; 250 remain
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("150 bytes are missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_GapBetweenTensors_ReportsInvalidHeader()
    {
        string path = _temp.Combine("gap.safetensors");
        await SafetensorsTestFile.WriteRawAsync(path, Encoding.UTF8.GetBytes("""{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"""), 12);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => SafetensorsReader.ReadAsync(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Contains("gap", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}""", "needs 16 bytes")]
    [InlineData("""{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}""", "dtype 'Q4'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "non-negative")]
    [InlineData("""{"a":[1,2]}""", "needs \"dtype\"")]
    [InlineData("""[1,2,3]""", "not a JSON object")]
    [InlineData("""{"a":""", "not valid JSON")]
    public async Task Read_MalformedHeader_ReportsInvalidHeader(string json, string expectedText)
    {
        string path = _temp.Combine("bad.safetensors");
        await SafetensorsTestFile.WriteRawAsync(path, Encoding.UTF8.GetBytes(json), 16);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => SafetensorsReader.ReadAsync(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Contains(expectedText, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_HeaderLengthOverLimit_ReportsInvalidHeaderWithoutReadingIt()
    {
        string path = _temp.Combine("huge-header.safetensors");
        var bytes = new byte[64];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 200_000_000UL);
        await File.WriteAllBytesAsync(path, bytes);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => SafetensorsReader.ReadAsync(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
    }

    [Fact]
    public async Task Read_TrailingBytesAfterData_ReportsInvalidHeader()
    {
        string path = _temp.Combine("trailing.safetensors");
        await SafetensorsTestFile.WriteAsync(path, [new("a", "F32", 4)]);
        await using (var file = File.OpenWrite(path))
        {
            file.SetLength(file.Length + 3);
        }

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => SafetensorsReader.ReadAsync(path));

        Assert.Equal(ModelErrorCode.InvalidHeader, error.ErrorCode);
        Assert.Contains("3 trailing bytes", error.Message, StringComparison.Ordinal);
    }
}
