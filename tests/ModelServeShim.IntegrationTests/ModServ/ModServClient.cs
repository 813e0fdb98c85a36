using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>Helpers over <c>/api/v1/modserv</c>: the calls a user of the brief's API makes.</summary>
public static class ModServClient
{
    public const string Base = "/api/v1/modserv";

    public static readonly string[] Steps = ["model-validation", "config-rendering", "resource-deployment", "health-check"];

    /// <summary>A deploy body for the sample GGUF on CPU with the test shimlet.</summary>
    public static JsonObject Body(string modelName, string modelFile = ModServFactory.SampleModelFile, bool dryRun = false, int replicas = 1) => new()
    {
        ["modelName"] = modelName,
        ["modelFile"] = modelFile,
        ["resourceRequirements"] = new JsonObject { ["acceleratorCount"] = 0, ["cpu"] = "2", ["memory"] = "4Gi" },
        ["replicaCount"] = replicas,
        ["shimlet"] = "test",
        ["dryRun"] = dryRun,
    };

    /// <summary>Deploys and returns the service id (asserting 200 and code 0).</summary>
    public static async Task<string> DeployAsync(this HttpClient client, JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.PostAsync($"{Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.OK);
        var envelope = await response.ReadJsonAsync();
        Assert.Equal(0, (int)envelope["code"]!);
        return (string)envelope["data"]!["serviceId"]!;
    }

    /// <summary>The <c>data</c> of a GET that must answer 200 with code 0.</summary>
    public static async Task<JsonNode> GetDataAsync(this HttpClient client, string path)
    {
        ArgumentNullException.ThrowIfNull(client);
        var envelope = await (await client.GetAsync(path).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(0, (int)envelope["code"]!);
        return envelope["data"]!;
    }

    public static Task<JsonNode> GetServiceAsync(this HttpClient client, string serviceId) => client.GetDataAsync($"{Base}/{serviceId}");

    public static Task<JsonNode> GetPipelineAsync(this HttpClient client, string serviceId) => client.GetDataAsync($"{Base}/{serviceId}/pipeline");

    public static string State(this JsonNode service) => (string)service["service"]!["state"]!;

    /// <summary>History as "From→To" strings (the first entry's From is empty).</summary>
    public static List<string> Transitions(this JsonNode service) =>
        [.. service["history"]!.AsArray().Select(h => $"{(string?)h!["from"]}→{(string)h["to"]!}")];

    public static IEnumerable<JsonNode> History(this JsonNode service) => service["history"]!.AsArray().Select(h => h!);

    /// <summary>Polls GET /{id} until the service is in <paramref name="state"/>.</summary>
    public static async Task<JsonNode> WaitForStateAsync(this HttpClient client, string serviceId, string state, TimeSpan? timeout = null)
    {
        JsonNode? last = null;
        return await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetServiceAsync(serviceId);
                return last.State() == state ? last : null;
            },
            $"service {serviceId} to be {state}",
            timeout,
            () => $"Last seen: {last?.ToJsonString()}");
    }
}
