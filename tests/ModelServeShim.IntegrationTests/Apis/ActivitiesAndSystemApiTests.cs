using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

public sealed class ActivitiesAndSystemApiTests(ShimFactory factory) : IClassFixture<ShimFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task ListActivities_ReturnsBuiltinsWithTypedInputs()
    {
        var response = await _client.GetAsync("/api/v1/activities").ExpectAsync(HttpStatusCode.OK);
        var activities = (await response.ReadJsonAsync()).AsArray().Select(a => a!).ToDictionary(a => a["type"]!.GetValue<string>());

        Assert.Contains("ModelServeShim.Log", activities.Keys);
        Assert.Contains("ModelServeShim.Delay", activities.Keys);
        Assert.Contains("ModelServeShim.Fail", activities.Keys);
        Assert.Contains("ModelServeShim.HttpRequest", activities.Keys);

        static JsonNode Input(JsonNode activity, string name) =>
            activity["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == name)!;

        var delay = Input(activities["ModelServeShim.Delay"], "duration");
        Assert.Equal("duration", delay["type"]!.GetValue<string>());
        Assert.True(delay["required"]!.GetValue<bool>());

        var url = Input(activities["ModelServeShim.HttpRequest"], "url");
        Assert.Equal("string", url["type"]!.GetValue<string>());
        Assert.True(url["required"]!.GetValue<bool>());
        Assert.Equal("object", Input(activities["ModelServeShim.HttpRequest"], "headers")["type"]!.GetValue<string>());
        Assert.Equal("GET", Input(activities["ModelServeShim.HttpRequest"], "method")["default"]!.GetValue<string>());

        var level = Input(activities["ModelServeShim.Log"], "level");
        Assert.Equal("enum", level["type"]!.GetValue<string>());
        Assert.Contains("Warning", level["options"]!.AsArray().Select(o => o!.GetValue<string>()));

        Assert.Equal("boolean", Input(activities["ModelServeShim.Fail"], "retryable")["type"]!.GetValue<string>());
        Assert.Equal("integer", Input(activities["ModelServeShim.Fail"], "failAttempts")["type"]!.GetValue<string>());

        var outcomes = activities["ModelServeShim.HttpRequest"]["outcomes"]!.AsArray().Select(o => o!.GetValue<string>()).ToList();
        Assert.Contains("Done", outcomes);
        Assert.Contains("Failed", outcomes);
    }

    [Fact]
    public async Task OpenApiDocument_IsJsonListingTheApi()
    {
        var response = await _client.GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);

        var document = await response.ReadJsonAsync();
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/v1/workflow-definitions", paths);
        Assert.Contains("/api/v1/workflow-instances/{id}", paths);
    }

    [Fact]
    public async Task DefinitionSchema_ParsesAsJsonSchema()
    {
        var response = await _client.GetAsync("/api/v1/schemas/workflow-definition.json").ExpectAsync(HttpStatusCode.OK);

        using var schema = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
        Assert.Equal(JsonValueKind.Object, schema.RootElement.ValueKind);
        Assert.True(schema.RootElement.TryGetProperty("properties", out var properties));
        Assert.True(properties.TryGetProperty("definitionId", out _));
    }

    [Fact]
    public async Task Health_AnswersOk()
    {
        var response = await _client.GetAsync("/healthz").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("ok", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
    }
}
