using Microsoft.Extensions.FileProviders;
using ModelServeShim.Hosting;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.WebUi;

/// <summary>The embedded UI's file provider is created at the first file request, once, and then serves as itself.</summary>
public sealed class DeferredFileProviderTests
{
    [Fact]
    public async Task Provider_IsCreatedOnFirstUseOnly_ThenServesItsFiles()
    {
        using var dir = new TempDirectory("mss-deferred-ui");
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "index.html"), "<html></html>");
        var created = 0;
        var deferred = new DeferredFileProvider(() =>
        {
            Interlocked.Increment(ref created);
            return new PhysicalFileProvider(dir.Path);
        });
        Assert.Equal(0, created);

        var index = deferred.GetFileInfo("index.html");
        var missing = deferred.GetFileInfo("nope.js");
        var contents = deferred.GetDirectoryContents("");

        Assert.Equal(1, created);
        Assert.True(index.Exists);
        Assert.Equal(13, index.Length);
        Assert.False(missing.Exists);
        Assert.Contains(contents, f => f.Name == "index.html");
    }
}
