using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Tests.Shared;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// The deploy request's contract, field by field, through the real HTTP API: each documented field reaches the step
/// that consumes it with the value the request sent (the step's recorded input), and has its effect where it lands
/// (the rendered spec, the fit verdict, the checksum verification). A field the pipeline cannot take is a 400.
/// </summary>
public sealed class DeployRequestContractTests(ModServFactory factory) : IClassFixture<ModServFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Deploy_EveryDocumentedField_ReachesItsStep_AndTakesEffect()
    {
        var modelDir = await WriteLlama8BAsync("contract-8b");
        var body = new JsonObject
        {
            ["modelName"] = "contract-all",
            ["modelFile"] = modelDir,
            ["resourceRequirements"] = new JsonObject
            {
                ["acceleratorType"] = "NVIDIA H20",
                ["acceleratorCount"] = 1,
                ["cpu"] = "6",
                ["memory"] = "24Gi",
                ["contextLength"] = 32_768,
                ["concurrentSequences"] = 2,
            },
            ["replicaCount"] = 3,
            ["runtime"] = "vllm",
            ["namespace"] = "team-a",
            ["labels"] = new JsonObject { ["team"] = "ml", ["cost-center"] = "c42" },
            ["dryRun"] = true,
            ["verifyChecksums"] = false,
            ["shimlet"] = "test",
            ["pipeline"] = "opensourcellm",
        };

        var serviceId = await _client.DeployAsync(body);
        var service = await _client.WaitForStateAsync(serviceId, "Stopped");
        var summary = service["service"]!;
        Assert.Equal("opensourcellm", (string)summary["pipeline"]!);
        Assert.Equal("test", (string)summary["shimlet"]!);

        // model-validation received every resource field with the request's value and type.
        var validation = await FinalInputAsync(serviceId, "model-validation");
        Assert.Equal(modelDir, (string)validation["modelFile"]!);
        Assert.Equal("NVIDIA H20", (string)validation["acceleratorType"]!);
        Assert.Equal(1, (int)validation["acceleratorCount"]!);
        Assert.Equal(32_768, (int)validation["contextLength"]!);
        Assert.Equal(2, (int)validation["concurrentSequences"]!);
        Assert.False((bool)validation["verifyChecksums"]!);

        // Its verdict: a fit on one H20 at 32,768 tokens × 2 sequences (KV cache 128 KiB per token).
        var memory = service["memory"]!;
        Assert.True((bool)memory["fits"]!);
        Assert.Equal(32_768, (int)memory["contextLength"]!);
        Assert.Equal(131_072L * 32_768 * 2, (long)memory["kvCacheBytes"]!);
        Assert.Equal(96_000_000_000L, (long)memory["availableBytes"]!);

        // config-rendering received the rest, typed (numbers stay numbers, labels stay an object).
        var rendering = await FinalInputAsync(serviceId, "config-rendering");
        Assert.Equal(3, (int)rendering["replicas"]!);
        Assert.Equal("vllm", (string)rendering["runtime"]!);
        Assert.Equal("team-a", (string)rendering["namespace"]!);
        Assert.Equal("test", (string)rendering["shimlet"]!);
        Assert.True((bool)rendering["dryRun"]!);
        Assert.Equal(32_768, (int)rendering["contextLength"]!);
        Assert.Equal("ml", (string)rendering["labels"]!["team"]!);
        Assert.Equal("c42", (string)rendering["labels"]!["cost-center"]!);
        Assert.Equal("6", (string)rendering["resources"]!["cpu"]!);

        // The rendered spec carries each of them.
        var spec = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/manifests");
        Assert.Equal(3, (int)spec["replicas"]!);
        Assert.Equal("vllm", (string)spec["runtime"]!);
        Assert.Equal("team-a", (string)spec["namespace"]!);
        Assert.Equal("ml", (string)spec["labels"]!["team"]!);
        Assert.Equal("6", (string)spec["resources"]!["cpu"]!);
        Assert.Equal("24Gi", (string)spec["resources"]!["memory"]!);
        Assert.Equal("NVIDIA H20", (string)spec["resources"]!["acceleratorType"]!);
        Assert.Equal(1, (int)spec["resources"]!["acceleratorCount"]!);
        var args = spec["args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal("32768", args[args.IndexOf("--max-model-len") + 1]);

        // dryRun: nothing applied, the deployment steps skipped.
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
        var steps = (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Select(s => (string)s!["status"]!);
        Assert.Equal(["Succeeded", "Succeeded", "Skipped", "Skipped"], steps);
    }

    [Fact]
    public async Task Deploy_OmittedOptionalFields_ReachTheStepsAsDefinedDefaults()
    {
        var serviceId = await _client.DeployAsync(new JsonObject
        {
            ["modelName"] = "contract-defaults",
            ["modelFile"] = ModServFactory.SampleModelFile,
            ["resourceRequirements"] = new JsonObject { ["cpu"] = "1", ["memory"] = "1Gi" },
            ["shimlet"] = "test",
            ["dryRun"] = true,
        });
        await _client.WaitForStateAsync(serviceId, "Stopped");

        var validation = await FinalInputAsync(serviceId, "model-validation");
        Assert.Null(validation["acceleratorType"]);
        Assert.Equal(0, (int)validation["acceleratorCount"]!);
        Assert.Equal(0, (int)validation["contextLength"]!);
        Assert.Equal(1, (int)validation["concurrentSequences"]!);
        Assert.False((bool)validation["verifyChecksums"]!);
        var rendering = await FinalInputAsync(serviceId, "config-rendering");
        Assert.Equal(1, (int)rendering["replicas"]!);
        Assert.Equal(256, (int)rendering["contextLength"]!); // the sample model's own context
    }

    [Theory]
    [InlineData("NVIDIA L4", 1, 131_072)]
    public async Task Deploy_8BOnOneL4_FailsAtModelValidation_NamingNeedAvailableLongestContextAndCount_NothingApplied(string accelerator, int count, int context)
    {
        var modelDir = await WriteLlama8BAsync("contract-l4");
        var serviceId = await _client.DeployAsync(new JsonObject
        {
            ["modelName"] = "contract-l4",
            ["modelFile"] = modelDir,
            ["resourceRequirements"] = new JsonObject
            {
                ["acceleratorType"] = accelerator, ["acceleratorCount"] = count, ["cpu"] = "4", ["memory"] = "16Gi",
            },
            ["shimlet"] = "test",
        });

        var service = await _client.WaitForStateAsync(serviceId, "Failed");
        var error = service["lastError"]!;
        Assert.Equal("model-validation", (string)error["step"]!);
        Assert.Equal("InsufficientAcceleratorMemory", (string)error["type"]!);
        var message = (string)error["message"]!;
        Assert.Contains("1 × NVIDIA L4 have 24 GB", message, StringComparison.Ordinal);
        Assert.Contains($"at {context} tokens", message, StringComparison.Ordinal);
        Assert.Contains("the longest context that fits is", message, StringComparison.Ordinal);
        Assert.Matches(@"it needs \d+ × NVIDIA L4", message);

        var validation = await FinalInputAsync(serviceId, "model-validation");
        Assert.Equal(accelerator, (string)validation["acceleratorType"]!);
        Assert.Equal(count, (int)validation["acceleratorCount"]!);
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
        var steps = (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Select(s => (string)s!["status"]!);
        Assert.Equal(["Failed", "Skipped", "Skipped", "Skipped"], steps);
    }

    [Fact]
    public async Task Deploy_VerifyChecksums_IsHonouredByModelValidation_BothWays()
    {
        var dir = Path.Combine(factory.ModelRoot, "checksummed");
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, "sample-llama-f32.gguf");
        File.Copy(factory.SampleModelPath, model, overwrite: true);
        var hash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model)));
        await File.WriteAllTextAsync(Path.Combine(dir, "SHA256SUMS"), $"{hash}  sample-llama-f32.gguf\n");

        var good = await DeployDryAsync("contract-sums-ok", model, verifyChecksums: true);
        await _client.WaitForStateAsync(good, "Stopped");
        Assert.True((bool)(await FinalInputAsync(good, "model-validation"))["verifyChecksums"]!);
        var logs = await _client.GetDataAsync($"{ModServClient.Base}/{good}/pipeline/logs");
        Assert.Contains(logs["items"]!.AsArray(), e => ((string)e!["message"]!).StartsWith("Verified 1 file(s) against SHA256SUMS", StringComparison.Ordinal));

        // The same model with a manifest that does not match: verification refuses it.
        await File.WriteAllTextAsync(Path.Combine(dir, "SHA256SUMS"), $"{new string('0', 64)}  sample-llama-f32.gguf\n");
        var bad = await DeployDryAsync("contract-sums-bad", model, verifyChecksums: true);
        var failed = await _client.WaitForStateAsync(bad, "Failed");
        Assert.Equal("ChecksumMismatch", (string)failed["lastError"]!["type"]!);

        // Without the flag the mismatching manifest is not read.
        var skipped = await DeployDryAsync("contract-sums-off", model, verifyChecksums: false);
        await _client.WaitForStateAsync(skipped, "Stopped");
        Assert.False((bool)(await FinalInputAsync(skipped, "model-validation"))["verifyChecksums"]!);
    }

    [Fact]
    public async Task Deploy_QuantizationToAPipelineWithoutIt_Returns400NamingTheField_AndCreatesNothing()
    {
        var body = ModServClient.Body("contract-quant");
        body["quantization"] = new JsonObject { ["type"] = "Q8_0" };

        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);
        var envelope = await response.ReadJsonAsync();

        var error = Assert.Single(envelope["errors"]!.AsArray())!;
        Assert.Equal("quantization", (string)error["field"]!);
        Assert.Contains("opensourcellm", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains("quant-llm", (string)error["message"]!, StringComparison.Ordinal);
        var services = (await _client.GetDataAsync($"{ModServClient.Base}?model=contract-quant")).AsArray();
        Assert.Empty(services);
    }

    [Fact]
    public async Task Deploy_RequestThePipelinesInputsRefuse_Returns400NamingTheRequestsOwnFields_AndCreatesNothing()
    {
        // A deploy pipeline that needs a namespace and (oddly) takes the replica count as a string: the request becomes
        // its input, so each input it refuses is the request field of the same name, refused before anything is stored.
        (await _client.PostAsync("/api/v1/workflow-definitions", ApiClient.Json("""
            { "definitionId": "needs-namespace",
              "inputs": [
                { "name": "serviceId", "type": "string", "required": true },
                { "name": "modelName", "type": "string", "required": true },
                { "name": "modelFile", "type": "string", "required": true },
                { "name": "resourceRequirements", "type": "object", "required": true },
                { "name": "shimlet", "type": "string", "required": true },
                { "name": "replicaCount", "type": "string" },
                { "name": "namespace", "type": "string", "required": true } ],
              "root": { "activities": [ { "id": "say", "type": "ModelServeShim.Log", "inputs": { "message": "{{ input.modelName }}" } } ] } }
            """))).EnsureSuccessStatusCode();
        var body = ModServClient.Body("contract-inputs");
        body["pipeline"] = "needs-namespace";
        body["replicaCount"] = 2;
        body.Remove("dryRun");

        var envelope = await (await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest)).ReadJsonAsync();

        Assert.Equal(400, (int)envelope["code"]!);
        var errors = envelope["errors"]!.AsArray().ToDictionary(e => (string)e!["field"]!, e => (string)e!["message"]!);
        Assert.Equal(["namespace", "replicaCount"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("needs-namespace", errors["namespace"], StringComparison.Ordinal);
        Assert.Contains("required", errors["namespace"], StringComparison.Ordinal);
        Assert.Contains("wrong type", errors["replicaCount"], StringComparison.Ordinal);
        Assert.Empty((await _client.GetDataAsync($"{ModServClient.Base}?model=contract-inputs")).AsArray());
    }

    [Fact]
    public async Task Deploy_QuantLlm_QuantizationFieldsReachTheQuantizationStep()
    {
        var body = ModServClient.Body("contract-q", dryRun: true);
        body["pipeline"] = "quant-llm";
        body["quantization"] = new JsonObject { ["type"] = "q8_0", ["threads"] = 1 };

        var serviceId = await _client.DeployAsync(body);
        await Poll.UntilAsync(
            async () =>
            {
                var state = (await _client.GetServiceAsync(serviceId)).State();
                return state is "Stopped" or "Failed" ? state : null;
            },
            "the quant-llm dry run to end");

        var quantization = await FirstInputAsync(serviceId, "model-quantization");
        Assert.Equal("Q8_0", (string)quantization["type"]!);
        Assert.Equal(1, (int)quantization["threads"]!);
        Assert.EndsWith("sample-llama-f32.gguf", (string)quantization["modelFile"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("contextLength", 0)]
    [InlineData("contextLength", -5)]
    [InlineData("concurrentSequences", 0)]
    [InlineData("concurrentSequences", 5000)]
    public async Task Deploy_OutOfRangeServingShape_Returns400NamingTheField(string field, int value)
    {
        var body = ModServClient.Body("contract-range");
        body["resourceRequirements"]![field] = value;

        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);

        var error = Assert.Single((await response.ReadJsonAsync())["errors"]!.AsArray())!;
        Assert.Equal($"resourceRequirements.{field}", (string)error["field"]!);
    }

    private async Task<string> DeployDryAsync(string name, string modelFile, bool verifyChecksums)
    {
        var body = ModServClient.Body(name, modelFile, dryRun: true);
        body["verifyChecksums"] = verifyChecksums;
        return await _client.DeployAsync(body);
    }

    private async Task<string> WriteLlama8BAsync(string name) =>
        await SafetensorsTestFiles.WriteLlamaAsync(Path.Combine(factory.ModelRoot, name), SafetensorsTestFiles.Llama31_8B);

    /// <summary>The input a step's final attempt recorded, as the step received it.</summary>
    private async Task<JsonNode> FinalInputAsync(string serviceId, string step) =>
        (await AttemptsAsync(serviceId, step)).Last()["input"]!;

    private async Task<JsonNode> FirstInputAsync(string serviceId, string step) =>
        (await AttemptsAsync(serviceId, step)).First()["input"]!;

    private async Task<List<JsonNode>> AttemptsAsync(string serviceId, string step)
    {
        var pipeline = await _client.GetPipelineAsync(serviceId);
        var found = pipeline["steps"]!.AsArray().Single(s => (string)s!["name"]! == step)!;
        return [.. found["attemptDetails"]!.AsArray().Select(a => a!)];
    }
}
