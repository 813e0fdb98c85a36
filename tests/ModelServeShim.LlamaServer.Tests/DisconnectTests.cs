using System.Net;
using System.Text;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.LlamaServer.Tests;

/// <summary>
/// A client that goes away mid-stream cancels its generation. This runs on its own, larger sample model
/// (~16 MB): the default one writes thousands of tokens a second, so on a busy machine it could finish all
/// of them before the disconnect is noticed and the test would prove nothing.
/// </summary>
public sealed class DisconnectTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Stream_ClientDisconnectsMidway_ServerCancelsAndKeepsServing()
    {
        var model = await SampleModelGenerator.WriteToDirectoryAsync(_directory.Path, new SampleModelOptions
        {
            ContextLength = 4096, EmbeddingLength = 256, Layers = 4, FeedForwardLength = 1024,
        });
        using var server = ServerProcess.Start("--model", model, "--host", "127.0.0.1", "--port", "0", "--alias", "big", "--parallel", "2", "--threads", "1");
        var address = await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await WaitHealthyAsync(client);

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = RunningServerFixture.JsonBody(new { prompt = "Once upon a time", max_tokens = 2000, temperature = 0, stream = true }),
        })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
            var dataLines = 0;
            while (dataLines < 3 && await reader.ReadLineAsync() is { } line)
            {
                dataLines += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }

            Assert.Equal(3, dataLines);
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!server.Output.Contains("Generation cancelled after", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Contains("Generation cancelled after", server.Output, StringComparison.Ordinal);

        // Alive, and both sequences are free: two requests at once complete.
        var after = await Task.WhenAll(
            client.PostAsync("/v1/completions", RunningServerFixture.JsonBody(new { prompt = "Hello", max_tokens = 4, temperature = 0 })),
            client.PostAsync("/v1/completions", RunningServerFixture.JsonBody(new { prompt = "Hello", max_tokens = 4, temperature = 0 })));
        Assert.All(after, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.False(server.HasExited, server.Output);
    }

    public void Dispose() => _directory.Dispose();

    private static async Task WaitHealthyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var health = await client.GetAsync("/health");
            if (health.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("The server did not become healthy within 60 s.");
    }
}
