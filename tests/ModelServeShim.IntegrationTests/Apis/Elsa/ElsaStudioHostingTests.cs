using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ModelServeShim.Hosting;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis.Elsa;

/// <summary>The host with an Elsa Studio folder laid out as scripts/install-elsa-studio.sh leaves it (compressed copies only).</summary>
public sealed class StudioShimFactory : ShimFactory
{
    public const string Script = "console.log('blazor');";

    private readonly TempDirectory _studio = new("mss-studio");

    public StudioShimFactory()
    {
        var framework = _studio.Sub("_framework");
        File.WriteAllBytes(Path.Combine(framework, "blazor.webassembly.js.gz"), Gzip(Script));
        File.WriteAllBytes(Path.Combine(framework, "blazor.webassembly.js.br"), Brotli(Script));
        File.WriteAllText(Path.Combine(_studio.Path, "Elsa.Studio.Host.CustomElements.styles.css"), "body{}");
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_studio.Path)!, $"{Path.GetFileName(_studio.Path)}-secret.txt"), "secret");
    }

    protected override IEnumerable<KeyValuePair<string, string>> Settings => [new("ElsaStudio:Directory", _studio.Path)];

    public string Secret => $"{Path.GetFileName(_studio.Path)}-secret.txt";

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            File.Delete(Path.Combine(Path.GetDirectoryName(_studio.Path)!, Secret));
            _studio.Dispose();
        }
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    private static byte[] Brotli(string text)
    {
        using var buffer = new MemoryStream();
        using (var brotli = new BrotliStream(buffer, CompressionLevel.Optimal))
        {
            brotli.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }
}

public sealed class ElsaStudioHostingTests(StudioShimFactory factory) : IClassFixture<StudioShimFactory>
{
    [Fact]
    public async Task Page_EmbedsTheElementScript_WithStudiosOwnCsp_AndNoGoogleFonts()
    {
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/elsa-studio/?definition=opensourcellm").ExpectAsync(HttpStatusCode.OK);

        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<base href=\"/elsa-studio/\"/>", html, StringComparison.Ordinal);
        Assert.Contains(ElsaStudioHosting.ScriptName, html, StringComparison.Ordinal);
        Assert.DoesNotContain("fonts.googleapis", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("'wasm-unsafe-eval'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("'unsafe-inline'; style", csp.Split("style-src")[0], StringComparison.Ordinal);

        var script = await (await client.GetAsync($"/elsa-studio/{ElsaStudioHosting.ScriptName}").ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync();
        Assert.Contains("elsa-workflow-definition-editor", script, StringComparison.Ordinal);
        Assert.Contains("elsa-workflow-instance-viewer", script, StringComparison.Ordinal);
        Assert.Contains("remote-endpoint", script, StringComparison.Ordinal);
        Assert.Contains("api-key", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelaxedCsp_IsScopedToStudio_TheWebUiKeepsItsOwn()
    {
        using var client = factory.CreateClient();

        var ui = await client.GetAsync("/services");

        Assert.DoesNotContain("wasm-unsafe-eval", ui.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate", "gzip")]
    [InlineData("gzip;q=1, br;q=0", "gzip")]
    public async Task CompressedFiles_AreAnsweredInAnAcceptedEncoding(string acceptEncoding, string expected)
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/elsa-studio/_framework/blazor.webassembly.js");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentEncoding.Single());
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        Stream stream = expected == "br" ? new BrotliStream(new MemoryStream(body), CompressionMode.Decompress) : new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        Assert.Equal(StudioShimFactory.Script, await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task AClientThatAcceptsNoEncoding_GetsTheGzipCopyUnpacked()
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/elsa-studio/_framework/blazor.webassembly.js");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(StudioShimFactory.Script, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PathsOutsideTheFolder_AndMissingFiles_Are404()
    {
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/elsa-studio/..%2F{factory.Secret}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/elsa-studio/../{factory.Secret}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/elsa-studio/_framework/nothing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.PostAsync("/elsa-studio/", new StringContent("x"))).StatusCode);
    }
}

/// <summary>No Studio folder: a page that says how to install it.</summary>
public sealed class ElsaStudioAbsentTests(ShimFactory factory) : IClassFixture<ShimFactory>
{
    [Fact]
    public async Task WithoutTheFolder_StudioAnswers404_SayingHowToInstallIt()
    {
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/elsa-studio/?definition=opensourcellm");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("Elsa Studio is not installed", page, StringComparison.Ordinal);
        Assert.Contains("scripts/install-elsa-studio.sh", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/elsa-studio/_framework/blazor.webassembly.js")).StatusCode);
    }
}
