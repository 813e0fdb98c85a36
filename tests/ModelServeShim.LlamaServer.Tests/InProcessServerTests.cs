using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelServeShim.LlamaServer.Hosting;
using ModelServeShim.LlamaServer.Inference;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.LlamaServer.Tests;

/// <summary>The server on a TestServer, with loading driven by the test so the loading states can be observed.</summary>
public sealed class InProcessServerTests
{
    [Fact]
    public async Task Health_BeforeLoad_Is503Loading_AndRequestsAre503_ThenAfterLoad200Ok()
    {
        using var temp = new TempDirectory();
        string model = await SampleModelGenerator.WriteToDirectoryAsync(temp.Path);
        await using var app = await StartWithoutLoaderAsync(new ServerOptions { ModelPath = model, Alias = "sample" });
        using var client = app.GetTestClient();
        var inference = app.Services.GetRequiredService<LlamaInference>();

        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("""{"status":"loading"}""", await health.Content.ReadAsStringAsync());
        }

        using (var early = await client.PostAsync("/v1/completions", RunningServerFixture.JsonBody(new { prompt = "hi" })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.Equal("unavailable_error", JsonDocument.Parse(await early.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
        }

        await inference.LoadAsync(CancellationToken.None);

        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("""{"status":"ok"}""", await health.Content.ReadAsStringAsync());
        }

        // No --ctx-size: min(2048, the model's trained 256).
        Assert.Equal(256, inference.ContextSize);
        Assert.False(inference.UsesModelChatTemplate);
    }

    [Fact]
    public async Task Health_WhenTheModelCannotLoad_Is500WithTheReason()
    {
        using var temp = new TempDirectory();
        string model = Path.Combine(temp.Path, "broken.gguf");
        await File.WriteAllTextAsync(model, "this is not a GGUF file");
        await using var app = await StartWithoutLoaderAsync(new ServerOptions { ModelPath = model, Alias = "broken" });
        using var client = app.GetTestClient();

        await app.Services.GetRequiredService<LlamaInference>().LoadAsync(CancellationToken.None);

        using var health = await client.GetAsync("/health");
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.InternalServerError, health.StatusCode);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Server_WithTheLoader_LoadsByItselfAfterStarting()
    {
        using var temp = new TempDirectory();
        string model = await SampleModelGenerator.WriteToDirectoryAsync(temp.Path);
        await using var app = LlamaServerApp.Create(new ServerOptions { ModelPath = model, Alias = "sample", ContextSize = 64 }, b => b.WebHost.UseTestServer());
        await app.StartAsync();
        using var client = app.GetTestClient();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        do
        {
            using var health = await client.GetAsync("/health");
            status = health.StatusCode;
            await Task.Delay(10);
        }
        while (status == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(64, app.Services.GetRequiredService<LlamaInference>().ContextSize);
    }

    private static async Task<WebApplication> StartWithoutLoaderAsync(ServerOptions options)
    {
        var app = LlamaServerApp.Create(options, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Services.Remove(builder.Services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(ModelLoader)));
        });
        await app.StartAsync();
        return app;
    }
}
