using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

/// <summary>
/// Hostile and broken requests to every POST and PUT endpoint: none may answer 5xx, and none may change
/// the stored definitions.
/// </summary>
public sealed class BadInputTests(ShimFactory factory) : IClassFixture<ShimFactory>, IAsyncLifetime
{
    private const string Seed = """
        {
          "definitionId": "seed",
          "root": { "type": "Flowchart", "activities": [ { "id": "hi", "type": "ModelServeShim.Log", "inputs": { "message": "seed" } } ] }
        }
        """;

    /// <summary>A valid definition except that it names no definitionId (PUT takes it from the URL).</summary>
    private const string WithoutId = """
        { "root": { "type": "Flowchart", "activities": [ { "id": "hi", "type": "ModelServeShim.Log", "inputs": { "message": "changed" } } ] } }
        """;

    private const int TwoMegabytes = 2 * 1024 * 1024;

    private static readonly Dictionary<string, (string Method, string Path, bool Multipart)> Endpoints = new()
    {
        ["save"] = ("POST", "/api/v1/workflow-definitions", false),
        ["validate"] = ("POST", "/api/v1/workflow-definitions/validate", false),
        ["import-body"] = ("POST", "/api/v1/workflow-definitions/import", false),
        ["import-file"] = ("POST", "/api/v1/workflow-definitions/import", true),
        ["put"] = ("PUT", "/api/v1/workflow-definitions/{id}", false),
        ["execute"] = ("POST", "/api/v1/workflow-definitions/{id}/execute", false),
        ["cancel"] = ("POST", "/api/v1/workflow-instances/{id}/cancel", false),
        ["elsa-save"] = ("POST", "/elsa/api/workflow-definitions", false),
        ["elsa-execute"] = ("POST", "/elsa/api/workflow-definitions/{id}/execute", false),
        ["elsa-journal"] = ("POST", "/elsa/api/workflow-instances/{id}/journal", false),
        ["elsa-report"] = ("POST", "/elsa/api/activity-executions/report", false),
    };

    private static readonly Dictionary<string, Func<byte[]>> Payloads = new()
    {
        ["malformed"] = () => Utf8("""{"definitionId": "seed", "root": {"type": "Flowchart", """),
        ["not-json"] = () => Utf8("definitionId=seed&root=x"),
        ["empty"] = () => [],
        ["null"] = () => Utf8("null"),
        ["array"] = () => Utf8("""[{"definitionId": "seed"}]"""),
        ["wrong-types"] = () => Utf8("""{"definitionId": 5, "root": "Flowchart", "inputs": {"a": 1}, "input": "x", "version": "two", "reason": 7, "correlationId": []}"""),
        ["wrong-nested-types"] = () => Utf8("""{"definitionId": "seed", "root": {"type": "Flowchart", "activities": [{"id": ["a"], "type": {}, "retry": {"maxAttempts": "many"}}], "connections": "none"}}"""),
        ["huge-numbers"] = () => Utf8("""{"definitionId": "seed", "version": 1e999, "root": {"type": "Flowchart", "activities": [{"id": "a", "type": "ModelServeShim.Fail", "inputs": {"failAttempts": 99999999999999999999999999}, "retry": {"maxAttempts": 1e308}}]}, "input": {"n": 1e999}}"""),
        ["huge-version"] = () => Utf8("""{"input": {}, "version": 99999999999999999999, "reason": "x"}"""),
        ["negative-version"] = () => Utf8("""{"input": {}, "version": -2147483648}"""),
        ["deep-objects"] = () => Utf8(string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000)),
        ["deep-arrays"] = () => Utf8(new string('[', 100_000) + new string(']', 100_000)),
        ["deep-in-inputs"] = () => Utf8("""{"definitionId": "seed", "input": """ + string.Concat(Enumerable.Repeat("{\"a\":", 500)) + "1" + new string('}', 500) + ", \"root\": {\"type\": \"Flowchart\", \"activities\": [{\"id\": \"a\", \"type\": \"ModelServeShim.Log\", \"inputs\": {\"message\": " + string.Concat(Enumerable.Repeat("[", 500)) + new string(']', 500) + "}}]}}"),
        ["two-megabytes"] = () => Utf8("{\"definitionId\": \"seed\", \"reason\": \"r\", \"description\": \"" + new string('x', TwoMegabytes) + "\"}"),
        ["two-megabyte-reason"] = () => Utf8("{\"reason\": \"" + new string('r', TwoMegabytes) + "\"}"),
        ["unknown-fields"] = () => Utf8("""{"definitionId": "seed", "isAdmin": true, "root": {"type": "Flowchart", "activities": [{"id": "hi", "type": "ModelServeShim.Log", "inputs": {"message": "seed"}, "sql": "'; DROP TABLE Definitions; --"}]}}"""),
        ["duplicate-keys"] = () => Utf8("""{"definitionId": "seed", "definitionId": "other", "root": {"type": "Flowchart", "activities": []}}"""),
        ["invalid-utf8"] = () => [.. Utf8("""{"definitionId": "se"""), 0xFF, 0xFE, 0xC3, .. Utf8("""ed", "reason": "x"}""")],
        ["lone-surrogate"] = () => Utf8("""{"definitionId": "\ud800", "reason": "\udfff", "correlationId": "\u0000"}"""),
        ["elsa-wrong-types"] = () => Utf8("""{"model": {"definitionId": "seed", "inputs": [1, {"name": 5}, {"name": "a", "type": []}], "customProperties": {"modelServeShim": []}, "root": {"type": "Elsa.Flowchart", "activities": [7, {"id": ["a"], "type": {}, "customProperties": 5, "metadata": "m", "message": {"expression": "str"}, "retryMaxAttempts": {"expression": {"type": "Literal", "value": 1e308}}, "stepTimeout": {"expression": {"type": 5, "value": {}}}}], "connections": [{"source": 5, "target": {"activity": 3}}, 1]}}, "publish": true, "workflowInstanceId": [], "activityIds": {}, "filter": {"activityIds": "x"}}"""),
        ["elsa-unrunnable"] = () => Utf8("""{"model": {"definitionId": "seed", "root": {"type": "Elsa.Flowchart", "activities": [{"id": "hi", "type": "ModelServeShim.Log", "version": 1, "message": {"typeName": "String", "expression": {"type": "JavaScript", "value": "require('fs')"}}}]}}, "publish": true}"""),
        ["traversal-in-body"] = () => Utf8("""{"definitionId": "../../etc/passwd", "root": {"type": "Flowchart", "activities": [{"id": "../x", "type": "../../ModelServeShim.Log"}]}}"""),
    };

    private static readonly string[] HostileIds =
    [
        "..%2F..%2Fetc",
        "..%2F..%2Fetc%2Fpasswd",
        "%2E%2E%2F%2E%2E%2Fetc",
        "..%5C..%5Cwindows",
        // NUL (%00) cannot be sent through TestServer at all (it refuses the path client-side); other controls can.
        "seed%01",
        "%0D%0Aseed",
        "seed%20OR%201%3D1",
        "%F0%9F%92%A5",
        new string('a', 4000),
    ];

    private readonly HttpClient _client = factory.CreateClient();

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var endpoint in Endpoints.Keys)
        {
            foreach (var payload in Payloads.Keys)
            {
                data.Add(endpoint, payload, "seed");
            }

            if (Endpoints[endpoint].Path.Contains("{id}", StringComparison.Ordinal))
            {
                foreach (var id in HostileIds)
                {
                    data.Add(endpoint, "without-id", id);
                    data.Add(endpoint, "unknown-fields", id);
                }
            }
        }

        return data;
    }

    public async Task InitializeAsync() => await _client.SaveDefinitionAsync(Seed);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_NeverAnswers5xx_AndLeavesDefinitionsIntact(string endpoint, string payload, string id)
    {
        var before = await DefinitionsSnapshotAsync();
        var (method, template, multipart) = Endpoints[endpoint];
        var body = payload == "without-id" ? Utf8(WithoutId) : Payloads[payload]();
        using var request = new HttpRequestMessage(new HttpMethod(method), template.Replace("{id}", id, StringComparison.Ordinal))
        {
            Content = multipart ? FileForm(body) : JsonBody(body),
        };

        using var response = await _client.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{method} {request.RequestUri} with {payload} answered {(int)response.StatusCode}: {Truncate(text)}");
        Assert.NotEqual(HttpStatusCode.Created, response.StatusCode);
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(before, await DefinitionsSnapshotAsync());
        var seed = await (await _client.GetAsync("/api/v1/workflow-definitions/seed").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(1, seed["version"]!.GetValue<int>());
        Assert.Equal("seed", seed["root"]!["activities"]![0]!["inputs"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MalformedMultipart_IsNot5xx()
    {
        using var content = new ByteArrayContent(Utf8("--nope\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{\"definitionId\""));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=other");

        using var response = await _client.PostAsync("/api/v1/workflow-definitions/import", content);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"answered {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync())}");
        Assert.Equal("file", (await response.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());
    }

    private async Task<string> DefinitionsSnapshotAsync()
    {
        var response = await _client.GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    private static ByteArrayContent JsonBody(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static MultipartFormDataContent FileForm(byte[] body)
    {
        var file = new ByteArrayContent(body);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new MultipartFormDataContent { { file, "file", "definition.json" } };
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Truncate(string text) => text.Length > 600 ? text[..600] + "…" : text;
}
