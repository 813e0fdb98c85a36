using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// The host with two operator keys, an inline deploy policy (Policies:Deploy:Rules) and the test pipeline
/// <c>privatellm-checks</c> (ModServ/Workflows/): permission-check → model-validation → checksum-verification → the opensourcellm steps.
/// </summary>
public sealed class PrivateLlmFactory : ModServFactory
{
    public const string MlKey = "ms-ml-team";
    public const string CiKey = "ms-ci-bot";

    public PrivateLlmFactory() =>
        File.Copy(Path.Combine(AppContext.BaseDirectory, "ModServ", "Workflows", "privatellm-checks.json"), Path.Combine(WorkflowsDir, "privatellm-checks.json"));

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Auth:ApiKeys:0:Name", "ml-team"),
        new("Auth:ApiKeys:0:KeyHash", ApiKeyHasher.Hash(MlKey)),
        new("Auth:ApiKeys:0:Role", Roles.Operator),
        new("Auth:ApiKeys:1:Name", "ci-bot"),
        new("Auth:ApiKeys:1:KeyHash", ApiKeyHasher.Hash(CiKey)),
        new("Auth:ApiKeys:1:Role", Roles.Operator),
        new("Policies:Deploy:Rules:0:Name", "ml-team-h20"),
        new("Policies:Deploy:Rules:0:Keys:0", "ml-*"),
        new("Policies:Deploy:Rules:0:AcceleratorTypes:0", "NVIDIA H20"),
        new("Policies:Deploy:Rules:0:Namespaces:0", "*"),
        new("Policies:Deploy:Rules:1:Name", "ci-l4-only"),
        new("Policies:Deploy:Rules:1:Keys:0", "ci-*"),
        new("Policies:Deploy:Rules:1:AcceleratorTypes:0", "NVIDIA L4"),
        new("Policies:Deploy:Rules:1:Namespaces:0", "*"),
    ];

    public HttpClient CreateClient(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }
}

public sealed class PrivateLlmChecksTests(PrivateLlmFactory factory) : IClassFixture<PrivateLlmFactory>
{
    private const string Pipeline = "privatellm-checks";

    [Fact]
    public async Task Deploy_ByAKeyNotAllowedTheAcceleratorType_IsRefusedAtPermissionCheck_QuotingTheRule_AndDeploysNothing()
    {
        var ci = factory.CreateClient(PrivateLlmFactory.CiKey);
        var body = ModServClient.Body("private-refused");
        body["pipeline"] = Pipeline;
        body["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA H20", ["acceleratorCount"] = 1, ["cpu"] = "2", ["memory"] = "4Gi" };

        var serviceId = await ci.DeployAsync(body);
        var failed = await ci.WaitForStateAsync(serviceId, "Failed");

        var error = failed["lastError"]!;
        Assert.Equal("PermissionDenied", (string)error["type"]!);
        var message = (string)error["message"]!;
        Assert.Contains("No rule allows 'ci-bot' (roles: viewer, operator)", message, StringComparison.Ordinal);
        Assert.Contains("Rule 'ci-l4-only' {\"name\":\"ci-l4-only\"", message, StringComparison.Ordinal);
        Assert.Contains("it does not allow accelerator type 'NVIDIA H20' (its acceleratorTypes: NVIDIA L4)", message, StringComparison.Ordinal);
        var steps = (await ci.GetPipelineAsync(serviceId))["steps"]!.AsArray();
        Assert.Equal(["permission-check", "model-validation", "checksum-verification", "config-rendering", "resource-deployment", "health-check"], steps.Select(s => (string)s!["name"]!));
        Assert.Equal(["Failed", "Skipped", "Skipped", "Skipped", "Skipped", "Skipped"], steps.Select(s => (string)s!["status"]!));
        Assert.Equal(1, (int)steps[0]!["attempts"]!);
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
    }

    [Fact]
    public async Task Redeploy_OfAnUnchangedModel_IsAnsweredByTheChecksumCache_WithoutReadingTheFile()
    {
        var ml = factory.CreateClient(PrivateLlmFactory.MlKey);
        var dir = Path.Combine(factory.ModelRoot, "private");
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, "sample-llama-f32.gguf");
        File.Copy(factory.SampleModelPath, model, overwrite: true);
        await File.WriteAllTextAsync(Path.Combine(dir, "SHA256SUMS"), $"{Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model)))}  sample-llama-f32.gguf\n");
        var body = ModServClient.Body("private-cached", model, dryRun: true);
        body["pipeline"] = Pipeline;
        body["verifyChecksums"] = true;

        var serviceId = await ml.DeployAsync(body);
        await ml.WaitForStateAsync(serviceId, "Stopped");
        var first = await OutputAsync(ml, serviceId, "checksum-verification");
        var allowedBy = await OutputAsync(ml, serviceId, "permission-check");
        var firstInstance = (string)(await ml.GetPipelineAsync(serviceId))["instanceId"]!;
        await ml.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.OK);
        await Poll.UntilAsync(
            async () =>
            {
                var run = await ml.GetPipelineAsync(serviceId);
                return (string?)run["instanceId"] != firstInstance && (string?)run["status"] == "Completed" ? run : null;
            },
            "the redeploy's pipeline to complete");
        await ml.WaitForStateAsync(serviceId, "Stopped");
        var second = await OutputAsync(ml, serviceId, "checksum-verification");

        Assert.Equal(("ml-team-h20", "ml-team"), ((string)allowedBy["rule"]!, (string)allowedBy["requester"]!["name"]!));
        Assert.True((bool)first["verified"]!);
        Assert.False((bool)first["cached"]!);
        Assert.Equal(new FileInfo(model).Length, (long)first["hashedBytes"]!);
        Assert.True((bool)second["verified"]!);
        Assert.True((bool)second["cached"]!);
        Assert.Equal(0, (long)second["hashedBytes"]!);
    }

    [Fact]
    public async Task Deploy_WithChecksumsInTheRequest_VerifiesAgainstThem_AndAWrongOneFailsNamingTheFile()
    {
        var ml = factory.CreateClient(PrivateLlmFactory.MlKey);
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(factory.SampleModelPath)));
        var good = ModServClient.Body("private-inline-ok", dryRun: true);
        good["pipeline"] = Pipeline;
        good["verifyChecksums"] = true;
        good["checksums"] = new JsonObject { ["sample-llama-f32.gguf"] = sha };
        var bad = ModServClient.Body("private-inline-bad", dryRun: true);
        bad["pipeline"] = Pipeline;
        bad["verifyChecksums"] = true;
        bad["checksums"] = new JsonObject { ["sample-llama-f32.gguf"] = new string('a', 64) };

        var goodId = await ml.DeployAsync(good);
        var badId = await ml.DeployAsync(bad);
        await ml.WaitForStateAsync(goodId, "Stopped");
        var failed = await ml.WaitForStateAsync(badId, "Failed");

        Assert.Equal("inline", (string)(await OutputAsync(ml, goodId, "checksum-verification"))["manifest"]!);
        Assert.Equal(sha, (string)(await ml.GetServiceAsync(goodId))["request"]!["checksums"]!["sample-llama-f32.gguf"]!);
        Assert.Equal("ChecksumMismatch", (string)failed["lastError"]!["type"]!);
        Assert.StartsWith("'sample-llama-f32.gguf' does not match its checksum (inline)", (string)failed["lastError"]!["message"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../escape.gguf", "0000000000000000000000000000000000000000000000000000000000000000", "checksums.../escape.gguf")]
    [InlineData("model.gguf", "not-a-digest", "checksums.model.gguf")]
    public async Task Deploy_WithInvalidChecksums_Returns400NamingTheEntry_AndCreatesNothing(string file, string sha256, string field)
    {
        var ml = factory.CreateClient(PrivateLlmFactory.MlKey);
        var body = ModServClient.Body("private-inline-invalid");
        body["pipeline"] = Pipeline;
        body["checksums"] = new JsonObject { [file] = sha256 };

        var response = await ml.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);

        var error = Assert.Single((await response.ReadJsonAsync())["errors"]!.AsArray())!;
        Assert.Equal(field, (string)error["field"]!);
        Assert.Empty((await ml.GetDataAsync($"{ModServClient.Base}?model=private-inline-invalid")).AsArray());
    }

    [Fact]
    public async Task Deploy_ChecksumsToAPipelineWithoutTheInput_Returns400NamingTheField()
    {
        var ml = factory.CreateClient(PrivateLlmFactory.MlKey);
        var body = ModServClient.Body("private-inline-wrong-pipeline");
        body["pipeline"] = "opensourcellm";
        body["checksums"] = new JsonObject { ["sample-llama-f32.gguf"] = new string('a', 64) };

        var response = await ml.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);

        Assert.Equal("checksums", (string)Assert.Single((await response.ReadJsonAsync())["errors"]!.AsArray())!["field"]!);
    }

    private static async Task<JsonNode> OutputAsync(HttpClient client, string serviceId, string step)
    {
        var pipeline = await client.GetPipelineAsync(serviceId);
        var found = pipeline["steps"]!.AsArray().Single(s => (string)s!["name"]! == step)!;
        return found["attemptDetails"]!.AsArray().Last()!["output"]!;
    }
}
