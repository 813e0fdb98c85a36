using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// End to end with nothing faked: the HTTP API, the real pipelines from <c>workflows/</c>, the built-in local shimlet and
/// the embedded llama.cpp runtime (<c>model-serve-shim-llama</c>, copied into <c>runtime/llama/</c> by the host's build)
/// serving the generated sample GGUF as a real child process on 127.0.0.1.
/// </summary>
public sealed class LocalEndToEndTests(ModServFactory factory) : IClassFixture<ModServFactory>
{
    private static readonly TimeSpan DeployTimeout = TimeSpan.FromMinutes(3);
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Deploy_LocalThroughOpensourcellm_RunsAndServesCompletions_UndeployStopsProcessAndFreesPort()
    {
        var body = ModServClient.Body("local-e2e");
        body["shimlet"] = "local";
        body["pipeline"] = "opensourcellm";

        var (serviceId, service) = await DeployUntilRunningAsync(body, ModServClient.Steps);

        Assert.Equal("F32", (string)service["model"]!["dataType"]!, ignoreCase: true);
        await UndeployAndCheckGoneAsync(serviceId, service);
    }

    [Fact]
    public async Task Deploy_LocalThroughQuantLlm_QuantizesToSmallerFile_RunsAndServesCompletions()
    {
        var body = ModServClient.Body("local-quant");
        body["shimlet"] = "local";
        body["pipeline"] = "quant-llm";
        body["quantization"] = new JsonObject { ["type"] = "Q8_0" };

        var (serviceId, service) = await DeployUntilRunningAsync(body,
            ["model-validation", "model-quantization", "quantized-model-validation", "config-rendering", "resource-deployment", "health-check"]);

        string quantized = Path.Combine(factory.ModelRoot, ".quantized", "sample-llama-f32.Q8_0.gguf");
        Assert.True(File.Exists(quantized), $"{quantized} was not written");
        Assert.True(new FileInfo(quantized).Length < new FileInfo(factory.SampleModelPath).Length);
        // The service's model facts are the quantized file's (the last model-validation), and that is the file served.
        Assert.Equal("Q8_0", (string)service["model"]!["dataType"]!, ignoreCase: true);
        var spec = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/manifests");
        Assert.Contains(quantized, spec.ToJsonString(), StringComparison.Ordinal);
        await UndeployAndCheckGoneAsync(serviceId, service);
    }

    [Fact]
    public async Task Deploy_QuantLlmWithUnknownType_Returns400ListingTypes()
    {
        var body = ModServClient.Body("local-badq");
        body["shimlet"] = "local";
        body["pipeline"] = "quant-llm";
        body["quantization"] = new JsonObject { ["type"] = "Q9_X" };

        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);
        string text = (await response.ReadJsonAsync()).ToJsonString();

        Assert.Contains("quantization.type", text, StringComparison.Ordinal);
        Assert.Contains("Q4_K_M", text, StringComparison.Ordinal);
    }

    private async Task<(string ServiceId, JsonNode Service)> DeployUntilRunningAsync(JsonObject body, string[] steps)
    {
        string serviceId = await _client.DeployAsync(body);
        JsonNode? last = null;
        var service = await Poll.UntilAsync(
            async () =>
            {
                last = await _client.GetServiceAsync(serviceId);
                Assert.NotEqual("Failed", last.State());
                return last.State() == "Running" ? last : null;
            },
            $"{serviceId} to be Running",
            DeployTimeout,
            () => $"Last seen: {last?.ToJsonString()}");

        var pipeline = await _client.GetPipelineAsync(serviceId);
        var seen = pipeline["steps"]!.AsArray().Select(s => s!).ToList();
        Assert.Equal(steps, seen.Select(s => (string)s["name"]!));
        Assert.All(seen, s => Assert.Equal("Succeeded", (string)s["status"]!));

        string endpoint = (string)service["service"]!["endpoint"]!;
        Assert.StartsWith("http://127.0.0.1:", endpoint, StringComparison.Ordinal);
        using var runtime = new HttpClient { BaseAddress = new Uri(endpoint), Timeout = TimeSpan.FromSeconds(60) };
        var completion = await runtime.PostAsync("/v1/completions", ApiClient.Json(
            """{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""")).ExpectAsync(HttpStatusCode.OK);
        var json = await completion.ReadJsonAsync();
        Assert.True((int)json["usage"]!["completion_tokens"]! > 0, json.ToJsonString());
        Assert.Equal((string)body["modelName"]!, (string)json["model"]!);
        return (serviceId, service);
    }

    private async Task UndeployAndCheckGoneAsync(string serviceId, JsonNode service)
    {
        // The running replica's resource use is exported for Prometheus, labelled by service, model and replica.
        var metrics = await _client.GetStringAsync("/metrics");
        var model = (string)service["service"]!["modelName"]!;
        Assert.Matches($@"modserv_replica_resident_memory_bytes\{{service=""{serviceId}"",model=""{model}"",replica=""0""\}} [1-9]", metrics);
        Assert.Contains($"modserv_replica_cpu_seconds_total{{service=\"{serviceId}\"", metrics, StringComparison.Ordinal);

        var port = new Uri((string)service["service"]!["endpoint"]!).Port;
        var record = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(factory.DataDir, "local-shimlet", "services", serviceId, "service.json")))!;
        int pid = (int)record["replicas"]![0]!["pid"]!;
        Assert.True(Directory.Exists($"/proc/{pid}"), $"runtime pid {pid} is not running");

        await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await _client.WaitForStateAsync(serviceId, "Stopped", DeployTimeout);

        await Poll.UntilAsync(() => Task.FromResult<object?>(Directory.Exists($"/proc/{pid}") ? null : new object()), $"pid {pid} to exit");
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(); // throws when something still holds the port
        var after = (await _client.GetStringAsync("/metrics")).Split('\n');
        Assert.DoesNotContain(after, l => l.StartsWith("modserv_replica_", StringComparison.Ordinal) && l.Contains(serviceId, StringComparison.Ordinal)); // gone with the replicas
        listener.Stop();
    }
}
