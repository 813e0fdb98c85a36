namespace ModelServeShim.Models.Tests;

public sealed class ModelInspectorTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Inspect_MissingPath_ReportsModelNotFound()
    {
        string path = _temp.Combine("nope.gguf");

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(path));

        Assert.Equal(ModelErrorCode.ModelNotFound, error.ErrorCode);
        Assert.Equal(path, error.Path);
    }

    [Theory]
    [InlineData("notes.txt", "")]
    [InlineData("model.safetensors", "config.json")]
    [InlineData("config.json", "directory")]
    public async Task Inspect_UnsupportedFile_ReportsUnsupportedFormatListingWhatIsSupported(string name, string hint)
    {
        string path = _temp.Combine(name);
        await File.WriteAllTextAsync(path, "hello");

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(path));

        Assert.Equal(ModelErrorCode.UnsupportedFormat, error.ErrorCode);
        Assert.Contains(".gguf", error.Message, StringComparison.Ordinal);
        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_EmptyPath_ReportsInvalidPath()
    {
        var error = await Assert.ThrowsAsync<ModelFormatException>(() => ModelInspector.InspectAsync(" "));

        Assert.Equal(ModelErrorCode.InvalidPath, error.ErrorCode);
    }
}
