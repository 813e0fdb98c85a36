using System.Net;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.WebUi;

/// <summary>The host with API keys and a built UI in a temp directory (<c>Ui:Directory</c>).</summary>
public sealed class UiShimFactory : ShimFactory
{
    public const string Key = "k-ui";
    public const string IndexHtml = "<!doctype html><html><head><script type=\"module\" src=\"/assets/app-abc.js\"></script></head><body><div id=\"root\"></div></body></html>";
    public const string AppJs = "console.log('app');";

    private readonly TempDirectory _ui = new("mss-ui");

    public UiShimFactory()
    {
        File.WriteAllText(Path.Combine(_ui.Path, "index.html"), IndexHtml);
        File.WriteAllText(Path.Combine(_ui.Sub("assets"), "app-abc.js"), AppJs);
        // A file beside the UI directory that no request may reach.
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_ui.Path)!, $"{Path.GetFileName(_ui.Path)}-secret.txt"), "secret");
    }

    public string UiDirectory => _ui.Path;

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Ui:Directory", _ui.Path),
        new("Auth:ApiKeys:0:Name", "ui-viewer"),
        new("Auth:ApiKeys:0:KeyHash", ApiKeyHasher.Hash(Key)),
        new("Auth:ApiKeys:0:Role", Roles.Viewer),
    ];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            File.Delete(Path.Combine(Path.GetDirectoryName(_ui.Path)!, $"{Path.GetFileName(_ui.Path)}-secret.txt"));
            _ui.Dispose();
        }
    }
}

/// <summary>The host with an empty UI directory (the UI was not built).</summary>
public sealed class EmptyUiShimFactory : ShimFactory
{
    private readonly TempDirectory _ui = new("mss-ui-empty");

    protected override IEnumerable<KeyValuePair<string, string>> Settings => [new("Ui:Directory", _ui.Path)];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _ui.Dispose();
        }
    }
}

/// <summary>Serving the web UI: files, client-side routes, caching, security headers, no key needed; the API keeps its own answers.</summary>
public sealed class WebUiTests(UiShimFactory factory) : IClassFixture<UiShimFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData("/")]
    [InlineData("/services/foo")]
    [InlineData("/designer/x")]
    [InlineData("/index.html")]
    public async Task UiPaths_ReturnTheIndex_WithoutAKey(string path)
    {
        var response = await _client.GetAsync(path).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(UiShimFactory.IndexHtml, await response.Content.ReadAsStringAsync());
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task Head_OfAClientRoute_AnswersLikeGet_WithoutABody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/services/foo");
        var response = await _client.SendAsync(request).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Assets_AreServedWithImmutableCaching()
    {
        var response = await _client.GetAsync("/assets/app-abc.js").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(UiShimFactory.AppJs, await response.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task MissingAsset_Returns404_NotTheIndex()
    {
        var response = await _client.GetAsync("/assets/missing.js").ExpectAsync(HttpStatusCode.NotFound);

        Assert.DoesNotContain("<html", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/api/v1/nope")]
    [InlineData("/api")]
    [InlineData("/openapi/nope")]
    public async Task UnknownApiPaths_Return404Problem_NotTheIndex(string path)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", UiShimFactory.Key);

        var response = await client.GetAsync(path).ExpectAsync(HttpStatusCode.NotFound);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(404, (int)(await response.ReadJsonAsync())["status"]!);
    }

    [Fact]
    public async Task Api_StillNeedsAKey()
    {
        var response = await _client.GetAsync("/api/v1/me").ExpectAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await _client.GetAsync("/metrics").ExpectAsync(HttpStatusCode.Unauthorized);
        await _client.GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("/..%2f..%2fetc/passwd")]
    [InlineData("/..%2f..%2fetc%2fpasswd")]
    [InlineData("/assets/..%2f..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/assets/%2e%2e%2f%2e%2e%2fsecret.txt")]
    [InlineData("/..%5c..%5cetc%5cpasswd")]
    public async Task TraversalPaths_NeverLeaveTheUiDirectory(string path)
    {
        var secretName = $"{Path.GetFileName(factory.UiDirectory)}-secret.txt";
        foreach (var candidate in new[] { path, path.Replace("secret.txt", secretName, StringComparison.Ordinal), path.Replace("etc/passwd", secretName, StringComparison.Ordinal) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("http://localhost" + candidate, UriKind.Absolute));
            var response = await _client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest || body == UiShimFactory.IndexHtml, $"{candidate}: {(int)response.StatusCode} {body}");
            Assert.DoesNotContain("root:", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PostToAClientRoute_IsNotTheIndex()
    {
        var response = await _client.PostAsync("/services/foo", ApiClient.Json("{}"));

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("<html", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }
}

/// <summary>An empty UI directory: <c>GET /</c> explains how to build the UI.</summary>
public sealed class WebUiNotBuiltTests(EmptyUiShimFactory factory) : IClassFixture<EmptyUiShimFactory>
{
    [Theory]
    [InlineData("/")]
    [InlineData("/services/foo")]
    public async Task Root_Returns404_ExplainingHowToBuildTheUi(string path)
    {
        var response = await factory.CreateClient().GetAsync(path).ExpectAsync(HttpStatusCode.NotFound);

        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("not built", text, StringComparison.Ordinal);
        Assert.Contains("cd designer && npm ci && npm run build", text, StringComparison.Ordinal);
        Assert.Contains("-p:SkipDesignerBuild=true", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_IsUnaffected()
    {
        await factory.CreateClient().GetAsync("/api/v1/me").ExpectAsync(HttpStatusCode.OK);
        await factory.CreateClient().GetAsync("/healthz").ExpectAsync(HttpStatusCode.OK);
    }
}
