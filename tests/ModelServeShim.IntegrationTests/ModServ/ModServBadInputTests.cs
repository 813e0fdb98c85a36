using System.Net;
using System.Text;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// Broken and hostile deploy and scale bodies: never a 5xx, always the brief's envelope with a non-zero code,
/// a message and errors naming the field; nothing is created.
/// </summary>
public sealed class ModServBadInputTests(ModServFactory factory) : IClassFixture<ModServFactory>
{
    private const string Resources = """ "resourceRequirements": {"cpu": "2", "memory": "4Gi"} """;

    private readonly HttpClient _client = factory.CreateClient();

    /// <summary>name → (body, status, field the errors must name).</summary>
    public static TheoryData<string, string, int, string> DeployCases() => new()
    {
        { "malformed", """{"modelName": "bad", "modelFile": """, 400, "modelFile" }, // where the JSON broke off
        { "not-json", "modelName=bad&modelFile=x", 400, "$" },
        { "empty", "", 400, "$" },
        { "null", "null", 400, "$" },
        { "array", """[{"modelName": "bad"}]""", 400, "$" },
        { "model-name-number", $$"""{"modelName": 5, "modelFile": "a.gguf", {{Resources}}}""", 400, "modelName" },
        { "replicas-string", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": "two", {{Resources}}}""", 400, "replicaCount" },
        { "replicas-fraction", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": 1.5, {{Resources}}}""", 400, "replicaCount" },
        { "replicas-huge", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": 99999999999999999999, {{Resources}}}""", 400, "replicaCount" },
        { "replicas-1e999", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": 1e999, {{Resources}}}""", 400, "replicaCount" },
        { "replicas-zero", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": 0, {{Resources}}}""", 400, "replicaCount" },
        { "replicas-int-max", $$"""{"modelName": "bad", "modelFile": "a.gguf", "replicaCount": 2147483647, {{Resources}}}""", 400, "replicaCount" },
        { "accelerators-huge", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"acceleratorType": "NVIDIA H20", "acceleratorCount": 2147483648, "cpu": "2", "memory": "4Gi"}}""", 400, "resourceRequirements.acceleratorCount" },
        { "accelerators-negative", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"acceleratorType": "NVIDIA H20", "acceleratorCount": -1, "cpu": "2", "memory": "4Gi"}}""", 400, "resourceRequirements.acceleratorCount" },
        { "accelerators-without-type", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"acceleratorCount": 2, "cpu": "2", "memory": "4Gi"}}""", 400, "resourceRequirements.acceleratorType" },
        { "cpu-number", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"cpu": 4, "memory": "4Gi"}}""", 400, "resourceRequirements.cpu" },
        { "cpu-words", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"cpu": "four", "memory": "4Gi"}}""", 400, "resourceRequirements.cpu" },
        { "memory-missing", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"cpu": "2"}}""", 400, "resourceRequirements.memory" },
        { "resources-missing", """{"modelName": "bad", "modelFile": "a.gguf"}""", 400, "resourceRequirements" },
        { "model-name-missing", $$"""{"modelFile": "a.gguf", {{Resources}}}""", 400, "modelName" },
        { "model-name-not-dns", $$"""{"modelName": "Llama_3 8B", "modelFile": "a.gguf", {{Resources}}}""", 400, "modelName" },
        { "model-name-too-long", $$"""{"modelName": "{{new string('a', 64)}}", "modelFile": "a.gguf", {{Resources}}}""", 400, "modelName" },
        { "model-file-missing", $$"""{"modelName": "bad", {{Resources}}}""", 400, "modelFile" },
        { "model-file-nul", $$"""{"modelName": "bad", "modelFile": "a\u0000.gguf", {{Resources}}}""", 400, "modelFile" },
        { "unknown-field", $$"""{"modelName": "bad", "modelFile": "a.gguf", "isAdmin": true, {{Resources}}}""", 400, "isAdmin" },
        { "unknown-nested-field", """{"modelName": "bad", "modelFile": "a.gguf", "resourceRequirements": {"cpu": "2", "memory": "4Gi", "gpu": "yes"}}""", 400, "resourceRequirements.gpu" },
        { "dry-run-string", $$"""{"modelName": "bad", "modelFile": "a.gguf", "dryRun": "yes", {{Resources}}}""", 400, "dryRun" },
        { "label-key-space", $$"""{"modelName": "bad", "modelFile": "a.gguf", "labels": {"bad key!": "v"}, {{Resources}}}""", 400, "labels.bad key!" },
        { "label-key-empty", $$"""{"modelName": "bad", "modelFile": "a.gguf", "labels": {"": "v"}, {{Resources}}}""", 400, "labels." },
        { "label-value-invalid", $$"""{"modelName": "bad", "modelFile": "a.gguf", "labels": {"team": "a b"}, {{Resources}}}""", 400, "labels.team" },
        { "label-value-object", $$"""{"modelName": "bad", "modelFile": "a.gguf", "labels": {"team": {"x": 1} }, {{Resources}}}""", 400, "labels.team" },
        { "labels-deep", "{\"modelName\": \"bad\", \"modelFile\": \"a.gguf\", \"labels\": " + string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2000) + ", " + Resources + "}", 400, "labels.a" },
        { "namespace-invalid", $$"""{"modelName": "bad", "modelFile": "a.gguf", "namespace": "Kube System", {{Resources}}}""", 400, "namespace" },
        { "shimlet-invalid", $$"""{"modelName": "bad", "modelFile": "a.gguf", "shimlet": "../k8s", {{Resources}}}""", 400, "shimlet" },
        { "runtime-invalid", $$"""{"modelName": "bad", "modelFile": "a.gguf", "runtime": "vllm; rm -rf /", {{Resources}}}""", 400, "runtime" },
    };

    [Theory]
    [MemberData(nameof(DeployCases))]
    public async Task Deploy_BadBody_AnswersEnvelopeNamingTheField(string name, string body, int status, string field)
    {
        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", new StringContent(body, Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{name}: {(int)response.StatusCode} {text}");
        var envelope = await response.ReadJsonAsync();
        Assert.Equal(status, (int)envelope["code"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)envelope["message"]), name);
        var fields = envelope["errors"]!.AsArray().Select(e => (string)e!["field"]!).ToList();
        Assert.True(fields.Contains(field), $"{name}: errors name [{string.Join(", ", fields)}], not '{field}': {text}");
        Assert.All(envelope["errors"]!.AsArray(), e => Assert.False(string.IsNullOrWhiteSpace((string?)e!["message"])));
        Assert.DoesNotContain((await _client.GetDataAsync(ModServClient.Base)).AsArray(), s => (string?)s!["modelName"] == "bad");
    }

    [Fact]
    public async Task Deploy_TwoMegabyteBody_Returns413Envelope()
    {
        var body = $$"""{"modelName": "big", "modelFile": "{{new string('x', 2 * 1024 * 1024)}}", {{Resources}}}""";

        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var envelope = await response.ReadJsonAsync();
        Assert.Equal(413, (int)envelope["code"]!);
        Assert.Contains("bytes", (string)envelope["message"]!, StringComparison.Ordinal);
        Assert.NotNull(envelope["errors"]);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("sample/../../../../etc/passwd")]
    public async Task Deploy_TraversalModelFile_EndsFailedWithPathOutsideModelRoot(string modelFile)
    {
        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(ModServClient.Body("traversal", modelFile).ToJsonString()));

        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            var refused = await response.ReadJsonAsync();
            Assert.Contains(refused["errors"]!.AsArray(), e => (string)e!["field"]! == "modelFile");
            return;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var serviceId = (string)(await response.ReadJsonAsync())["data"]!["serviceId"]!;
        var service = await _client.WaitForStateAsync(serviceId, "Failed");
        Assert.Equal("PathOutsideModelRoot", (string)service["lastError"]!["type"]!);
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
        var logs = await (await _client.GetAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("root:x:0:0", logs, StringComparison.Ordinal); // nothing of the file was read
    }

    [Theory]
    [InlineData("""{"replicaCount": "two"}""")]
    [InlineData("""{"replicaCount": 1e999}""")]
    [InlineData("""{"replicaCount": -1}""")]
    [InlineData("""{"replicas": 2}""")]
    [InlineData("""not json""")]
    [InlineData("")]
    public async Task Scale_BadBody_Returns400NamingReplicaCount(string body)
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body($"scale-bad-{Math.Abs(body.GetHashCode(StringComparison.Ordinal)) % 100000}", dryRun: true));

        var response = await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var envelope = await response.ReadJsonAsync();
        Assert.Equal(400, (int)envelope["code"]!);
        Assert.Contains(envelope["errors"]!.AsArray(), e => (string)e!["field"]! == "replicaCount");
    }
}
