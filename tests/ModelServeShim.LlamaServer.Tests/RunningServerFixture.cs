using System.Net;
using System.Text.Json;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.LlamaServer.Tests;

/// <summary>
/// One real server process for a test class: a sample GGUF (2048-token context) served as <see cref="Alias"/>
/// on a free 127.0.0.1 port with two parallel sequences. Records every /health answer seen while it loaded.
/// </summary>
public sealed class RunningServerFixture : IAsyncLifetime
{
    public const string Alias = "tiny-llama";
    private readonly TempDirectory _directory = new();
    private ServerProcess? _server;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>(status code, body) of each /health poll before the first 200, then the 200 itself.</summary>
    public List<(HttpStatusCode Status, string Body)> HealthHistory { get; } = [];

    public string Output => _server?.Output ?? "";

    public bool HasExited => _server?.HasExited ?? true;

    public async Task InitializeAsync()
    {
        string model = await SampleModelGenerator.WriteToDirectoryAsync(_directory.Path, new SampleModelOptions { ContextLength = 2048 });
        _server = ServerProcess.Start("--model", model, "--host", "127.0.0.1", "--port", "0", "--alias", Alias, "--parallel", "2", "--threads", "1");
        var address = await _server.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var response = await Client.GetAsync("/health");
            HealthHistory.Add((response.StatusCode, await response.Content.ReadAsStringAsync()));
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(20);
        }
    }

    public Task DisposeAsync()
    {
        Client?.Dispose();
        _server?.Dispose();
        _directory.Dispose();
        return Task.CompletedTask;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object body)
    {
        using var response = await Client.PostAsync(path, JsonBody(body));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public static StringContent JsonBody(object body) =>
        new(body as string ?? JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
