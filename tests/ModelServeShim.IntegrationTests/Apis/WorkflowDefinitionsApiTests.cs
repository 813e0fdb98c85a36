using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

public sealed class WorkflowDefinitionsApiTests(ShimFactory factory) : WorkflowDefinitionsApiTestsBase(factory), IClassFixture<ShimFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class WorkflowDefinitionsApiPostgresTests(PostgresShimFactory factory) : WorkflowDefinitionsApiTestsBase(factory), IClassFixture<PostgresShimFactory>;

public abstract class WorkflowDefinitionsApiTestsBase(ShimFactory factory)
{
    private const string Greeting = """
        {
          "definitionId": "greeting",
          "name": "Greeting",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "hello", "type": "ModelServeShim.Log", "inputs": { "message": "hello" } }
            ]
          }
        }
        """;

    private const string GreetingChanged = """
        {
          "definitionId": "greeting",
          "name": "Greeting",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "hello", "type": "ModelServeShim.Log", "inputs": { "message": "hello again" } }
            ]
          }
        }
        """;

    private const string Exportable = """
        {
          "definitionId": "exportable",
          "description": "Round-trips through export and import.",
          "inputs": [ { "name": "who", "type": "string", "default": "world" } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "10ms" }, "timeout": "5s",
                "retry": { "maxAttempts": 3, "delay": "1s", "backoff": "constant" } },
              { "id": "say", "type": "ModelServeShim.Log", "inputs": { "message": "hi {{ input.who }}" } }
            ],
            "connections": [ { "source": { "activity": "wait", "port": "Done" }, "target": { "activity": "say" } } ]
          }
        }
        """;

    // Three problems: an unknown activity type, a bad timeout, a connection to nowhere.
    private const string ThreeErrors = """
        {
          "definitionId": "three-errors",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "first", "type": "ModelServeShim.Log", "inputs": { "message": "hi" }, "timeout": "soon" },
              { "id": "second", "type": "ModelServeShim.Teleport" }
            ],
            "connections": [
              { "source": { "activity": "first" }, "target": { "activity": "second" } },
              { "source": { "activity": "second" }, "target": { "activity": "nowhere" } }
            ]
          }
        }
        """;

    private const string BadDuration = """
        {
          "definitionId": "bad-duration",
          "root": {
            "type": "Flowchart",
            "activities": [ { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "a while" } } ]
          }
        }
        """;

    private const string UnknownNestedProperty = """
        {
          "definitionId": "typo",
          "root": {
            "type": "Flowchart",
            "activities": [ { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "hi" }, "retyr": { "maxAttempts": 2 } } ]
          }
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Save_NewThenSameThenChanged_CreatesVersionsOnlyForChanges()
    {
        var created = await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(Greeting)).ExpectAsync(HttpStatusCode.Created);
        var first = await created.ReadJsonAsync();
        Assert.True(first["created"]!.GetValue<bool>());
        Assert.Equal(1, first["definition"]!["version"]!.GetValue<int>());
        Assert.Equal("/api/v1/workflow-definitions/greeting?version=1", created.Headers.Location?.OriginalString);

        var same = await (await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(Greeting)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.False(same["created"]!.GetValue<bool>());
        Assert.Equal(1, same["definition"]!["version"]!.GetValue<int>());

        var changed = await (await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(GreetingChanged)).ExpectAsync(HttpStatusCode.Created)).ReadJsonAsync();
        Assert.Equal(2, changed["definition"]!["version"]!.GetValue<int>());

        var versions = (await (await _client.GetAsync("/api/v1/workflow-definitions/greeting/versions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsArray();
        Assert.Equal([2, 1], versions.Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal([true, false], versions.Select(v => v!["isLatest"]!.GetValue<bool>()));

        var v1 = await (await _client.GetAsync("/api/v1/workflow-definitions/greeting?version=1").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(1, v1["version"]!.GetValue<int>());
        Assert.Equal("hello", v1["root"]!["activities"]![0]!["inputs"]!["message"]!.GetValue<string>());

        var latest = await (await _client.GetAsync("/api/v1/workflow-definitions/greeting").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(2, latest["version"]!.GetValue<int>());

        await _client.GetAsync("/api/v1/workflow-definitions/greeting?version=7").ExpectAsync(HttpStatusCode.NotFound);
        var list = (await (await _client.GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsArray();
        Assert.Equal(2, list.Single(d => d!["definitionId"]!.GetValue<string>() == "greeting")!["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task ExportThenImport_RoundTripsTheDefinition()
    {
        await _client.SaveDefinitionAsync(Exportable);

        var export = await _client.GetAsync("/api/v1/workflow-definitions/exportable/export").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("exportable.json", export.Content.Headers.ContentDisposition?.FileNameStar ?? export.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var bytes = await export.Content.ReadAsByteArrayAsync();
        Assert.Null(JsonNode.Parse(bytes)!["version"]);

        // Importing the exported file unchanged matches the stored content exactly: no new version.
        var again = await ImportAsync(bytes, "exportable.json").ExpectAsync(HttpStatusCode.OK);
        var againBody = await again.ReadJsonAsync();
        Assert.False(againBody["created"]!.GetValue<bool>());
        Assert.Equal(1, againBody["definition"]!["version"]!.GetValue<int>());

        // Imported under another id, it is a new definition with the same content.
        var copy = JsonNode.Parse(bytes)!.AsObject();
        copy["definitionId"] = "exportable-copy";
        var imported = await (await ImportAsync(Encoding.UTF8.GetBytes(copy.ToJsonString()), "copy.json").ExpectAsync(HttpStatusCode.Created)).ReadJsonAsync();
        Assert.Equal("import", imported["definition"]!["source"]!.GetValue<string>());
        Assert.Equal(1, imported["definition"]!["version"]!.GetValue<int>());

        var original = await (await _client.GetAsync("/api/v1/workflow-definitions/exportable")).ReadJsonAsync();
        var roundTripped = await (await _client.GetAsync("/api/v1/workflow-definitions/exportable-copy")).ReadJsonAsync();
        original["definitionId"] = "exportable-copy";
        Assert.True(JsonNode.DeepEquals(original, roundTripped), $"{original.ToJsonString()}\n!=\n{roundTripped.ToJsonString()}");
    }

    [Fact]
    public async Task Import_WithoutFileField_Returns400NamingTheField()
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes(Greeting)), "upload", "g.json" } };
        var response = await _client.PostAsync("/api/v1/workflow-definitions/import", form).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("file", (await response.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task Validate_WithErrors_ReturnsInvalidWithJsonPaths()
    {
        var response = await _client.PostAsync("/api/v1/workflow-definitions/validate", ApiClient.Json(ThreeErrors)).ExpectAsync(HttpStatusCode.OK);
        var body = await response.ReadJsonAsync();

        Assert.False(body["valid"]!.GetValue<bool>());
        var paths = body["errors"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()).ToList();
        Assert.Contains("$.root.activities[1].type", paths);
        Assert.Contains("$.root.activities[0].timeout", paths);
        Assert.Contains("$.root.connections[1].target.activity", paths);
        Assert.All(body["errors"]!.AsArray(), e => Assert.False(string.IsNullOrWhiteSpace(e!["message"]!.GetValue<string>())));

        // Validation never saves.
        await _client.GetAsync("/api/v1/workflow-definitions/three-errors").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Validate_ValidDefinition_ReturnsValid()
    {
        var body = await (await _client.PostAsync("/api/v1/workflow-definitions/validate", ApiClient.Json(Exportable)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.True(body["valid"]!.GetValue<bool>());
        Assert.Empty(body["errors"]!.AsArray());
    }

    [Fact]
    public async Task Save_InvalidDefinition_Returns400ProblemNamingTheField()
    {
        var response = await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(BadDuration)).ExpectAsync(HttpStatusCode.BadRequest);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        var error = Assert.Single(problem["errors"]!.AsArray())!;
        Assert.Equal("$.root.activities[0].inputs.duration", error["path"]!.GetValue<string>());
        Assert.Contains("$.root.activities[0].inputs.duration", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await _client.GetAsync("/api/v1/workflow-definitions/bad-duration").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Save_UnknownProperty_Returns400NamingItsPath()
    {
        var response = await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(UnknownNestedProperty)).ExpectAsync(HttpStatusCode.BadRequest);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var error = (await response.ReadJsonAsync())["errors"]![0]!;
        Assert.Equal("$.root.activities[0].retyr", error["path"]!.GetValue<string>());
        Assert.Contains("retyr", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_BodyIdDiffersFromUrl_Returns400()
    {
        var response = await _client.PutAsync("/api/v1/workflow-definitions/other-id", ApiClient.Json(Greeting)).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("$.definitionId", (await response.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_HidesTheDefinitionAndRefusesNewInstances()
    {
        var json = Greeting.Replace("\"greeting\"", "\"doomed\"", StringComparison.Ordinal);
        await _client.SaveDefinitionAsync(json);

        await _client.DeleteAsync("/api/v1/workflow-definitions/doomed").ExpectAsync(HttpStatusCode.NoContent);

        await _client.GetAsync("/api/v1/workflow-definitions/doomed").ExpectAsync(HttpStatusCode.NotFound);
        await _client.PostAsync("/api/v1/workflow-definitions/doomed/execute", ApiClient.Json("{}")).ExpectAsync(HttpStatusCode.NotFound);
        await _client.DeleteAsync("/api/v1/workflow-definitions/doomed").ExpectAsync(HttpStatusCode.NotFound);
        var list = (await (await _client.GetAsync("/api/v1/workflow-definitions")).ReadJsonAsync()).AsArray();
        Assert.DoesNotContain(list, d => d!["definitionId"]!.GetValue<string>() == "doomed");
    }

    private Task<HttpResponseMessage> ImportAsync(byte[] file, string fileName)
    {
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var form = new MultipartFormDataContent { { content, "file", fileName } };
        return _client.PostAsync("/api/v1/workflow-definitions/import", form);
    }
}
