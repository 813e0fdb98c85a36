using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>
/// The host with the BUILT-IN <c>privatellm</c> (the workflow folder's copy is removed, so the embedded
/// <c>workflows/privatellm.json</c> is the one loaded), an inline deploy policy, and keys for two operators (one the
/// policy allows H20 and CPU deploys of <c>private-*</c> models, one only L4), an approver and nothing else.
/// </summary>
public sealed class PrivateLlmPipelineFactory : ModServFactory
{
    public const string OperatorKey = "pl-ml-operator";
    public const string CiKey = "pl-ci-bot";
    public const string ApproverKey = "pl-approver";

    public PrivateLlmPipelineFactory() => File.Delete(Path.Combine(WorkflowsDir, "privatellm.json"));

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        .. Key(0, "ml-operator", OperatorKey, Roles.Operator),
        .. Key(1, "ci-bot", CiKey, Roles.Operator),
        .. Key(2, "approver1", ApproverKey, Roles.Approver),
        new("Policies:Deploy:Rules:0:Name", "ml-team-private"),
        new("Policies:Deploy:Rules:0:Keys:0", "ml-*"),
        new("Policies:Deploy:Rules:0:ModelNames:0", "private-*"),
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

    /// <summary>
    /// A copy of the sample GGUF in its own directory <paramref name="dir"/> of the model root, with a <c>SHA256SUMS</c>
    /// of the copy next to it; returns the model's path relative to the root.
    /// </summary>
    public async Task<string> ModelWithManifestAsync(string dir)
    {
        var folder = Path.Combine(ModelRoot, dir);
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "sample-llama-f32.gguf");
        File.Copy(SampleModelPath, model, overwrite: true);
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model)));
        await File.WriteAllTextAsync(Path.Combine(folder, "SHA256SUMS"), $"# sha256sum *.gguf\n{sha}  sample-llama-f32.gguf\n");
        return $"{dir}/sample-llama-f32.gguf";
    }

    private static KeyValuePair<string, string>[] Key(int index, string name, string key, string role) =>
    [
        new($"Auth:ApiKeys:{index}:Name", name),
        new($"Auth:ApiKeys:{index}:KeyHash", ApiKeyHasher.Hash(key)),
        new($"Auth:ApiKeys:{index}:Role", role),
    ];
}

/// <summary>
/// The built-in <c>privatellm</c> end to end over HTTP: permission-check → model-validation → checksum-verification →
/// approval → config-rendering → resource-deployment → health-check, with the local shimlet serving the sample GGUF for
/// real when approved.
/// </summary>
public sealed class PrivateLlmPipelineTests(PrivateLlmPipelineFactory factory) : IClassFixture<PrivateLlmPipelineFactory>
{
    private const string Pipeline = "privatellm";
    private static readonly TimeSpan DeployTimeout = TimeSpan.FromMinutes(3);

    private static readonly string[] Steps =
        ["permission-check", "model-validation", "checksum-verification", "approval", "config-rendering", "resource-deployment", "health-check", "rejected", "timed-out"];

    private static JsonObject Deploy(string name, string modelFile, string shimlet = "test")
    {
        var body = ModServClient.Body(name, modelFile);
        body["pipeline"] = Pipeline;
        body["shimlet"] = shimlet;
        return body;
    }

    private static StringContent Decision(string decision, string comment) =>
        ApiClient.Json(new JsonObject { ["decision"] = decision, ["comment"] = comment }.ToJsonString());

    [Fact]
    public async Task TheBuiltInDefinitionIsLoaded_WithoutErrors()
    {
        var client = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);

        var list = (await (await client.GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsArray();
        var definition = list.Single(d => (string)d!["definitionId"]! == "privatellm")!;
        var full = await (await client.GetAsync("/api/v1/workflow-definitions/privatellm").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var files = (await (await client.GetAsync("/api/v1/workflow-files").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["files"]!.AsArray();

        Assert.Equal("builtin:privatellm.json", (string?)definition["source"]);
        Assert.Contains(files, f => (string)f!["file"]! == "builtin:privatellm.json" && f["errors"]!.AsArray().Count == 0);
        var inputs = full["inputs"]!.AsArray().Select(i => (string)i!["name"]!).ToList();
        Assert.Contains("checksums", inputs);
        Assert.DoesNotContain("verifyChecksums", inputs);
    }

    [Fact]
    public async Task Approved_ByTheApprover_TheLocalServiceRuns_AndEveryStepLeftItsRecord()
    {
        var operatorClient = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);
        var approver = factory.CreateClient(PrivateLlmPipelineFactory.ApproverKey);
        var modelFile = await factory.ModelWithManifestAsync("private-approved");
        var serviceId = await operatorClient.DeployAsync(Deploy("private-approved", modelFile, shimlet: "local"));

        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        Assert.Equal("approval", (string?)waiting["currentStep"]);
        Assert.Equal("approval", (string?)waiting["pendingApproval"]!["signal"]!["signal"]);
        Assert.Equal(["approver"], waiting["pendingApproval"]!["signal"]!["roles"]!.AsArray().Select(r => (string)r!));
        var waitingSteps = (await operatorClient.GetPipelineAsync(serviceId))["steps"]!.AsArray();
        Assert.Equal(Steps, waitingSteps.Select(s => (string)s!["name"]!));
        Assert.Equal(["Succeeded", "Succeeded", "Succeeded", "Suspended"], waitingSteps.Take(4).Select(s => (string)s!["status"]!));
        Assert.Equal(
            "Suspended",
            (string?)(await (await operatorClient.GetAsync($"/api/v1/workflow-instances/{(string)waiting["pendingApproval"]!["instanceId"]!}")
                .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["instance"]!["status"]);
        await operatorClient.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "myself")).ExpectAsync(HttpStatusCode.Forbidden);

        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "licence checked")).ExpectAsync(HttpStatusCode.OK);
        JsonNode? last = null;
        var running = await Poll.UntilAsync(
            async () =>
            {
                last = await operatorClient.GetServiceAsync(serviceId);
                Assert.NotEqual("Failed", last.State());
                return last.State() == "Running" ? last : null;
            },
            $"{serviceId} to be Running",
            DeployTimeout,
            () => $"Last seen: {last?.ToJsonString()}");

        var signOff = Assert.Single(running.History(), h => ((string)h["reason"]!).Contains("approved by approver1: licence checked", StringComparison.Ordinal));
        Assert.Equal("approver1", (string?)signOff["operator"]);
        Assert.Equal("AwaitingApproval", (string?)signOff["from"]);
        var logs = (await operatorClient.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs"))["items"]!.AsArray();
        Assert.Contains(logs, e => (string?)e!["event"] == "SignalReceived" && (string?)e["properties"]!["by"] == "approver1");
        Assert.Contains(logs, e => (string?)e!["event"] == "StepLog" && ((string)e["message"]!).Contains("Approved by approver1: licence checked", StringComparison.Ordinal));
        var allowed = await OutputAsync(operatorClient, serviceId, "permission-check");
        Assert.Equal("ml-team-private", (string?)allowed["rule"]);
        Assert.Equal("ml-operator", (string?)allowed["requester"]!["name"]);
        var verified = await OutputAsync(operatorClient, serviceId, "checksum-verification");
        Assert.True((bool)verified["verified"]!);
        Assert.EndsWith("/private-approved/SHA256SUMS", (string)verified["manifest"]!, StringComparison.Ordinal);
        Assert.Equal("sample-llama-f32.gguf", (string?)verified["files"]![0]!["file"]);
        var steps = (await operatorClient.GetPipelineAsync(serviceId))["steps"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string)s!["status"]!);
        Assert.All(Steps[..7], s => Assert.Equal("Succeeded", steps[s]));
        Assert.Equal(("Skipped", "Skipped"), (steps["rejected"], steps["timed-out"]));

        // Served for real by the local shimlet's runtime, then undeployed so the process and its port are gone.
        var endpoint = (string)running["service"]!["endpoint"]!;
        using (var runtime = new HttpClient { BaseAddress = new Uri(endpoint), Timeout = TimeSpan.FromSeconds(60) })
        {
            var completion = await (await runtime.PostAsync("/v1/completions", ApiClient.Json("""{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}"""))
                .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
            Assert.Equal("private-approved", (string?)completion["model"]);
        }

        await operatorClient.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await operatorClient.WaitForStateAsync(serviceId, "Stopped", DeployTimeout);
        using var listener = new TcpListener(IPAddress.Loopback, new Uri(endpoint).Port);
        listener.Start(); // throws when the runtime still holds the port
        listener.Stop();
    }

    [Fact]
    public async Task Redeploy_AsksForApprovalAgain_AndTheUnchangedModelIsNotHashedAgain()
    {
        var operatorClient = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);
        var approver = factory.CreateClient(PrivateLlmPipelineFactory.ApproverKey);
        var body = Deploy("private-redeployed", await factory.ModelWithManifestAsync("private-redeployed"));
        body["dryRun"] = true;
        var serviceId = await operatorClient.DeployAsync(body);
        await operatorClient.WaitForPendingApprovalAsync(serviceId);
        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "first")).ExpectAsync(HttpStatusCode.OK);
        await operatorClient.WaitForStateAsync(serviceId, "Stopped");
        var first = await OutputAsync(operatorClient, serviceId, "checksum-verification");
        var firstInstance = (string)(await operatorClient.GetPipelineAsync(serviceId))["instanceId"]!;

        await operatorClient.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.OK);
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        Assert.NotEqual(firstInstance, (string)waiting["pendingApproval"]!["instanceId"]!);
        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "second")).ExpectAsync(HttpStatusCode.OK);
        var done = await operatorClient.WaitForStateAsync(serviceId, "Stopped");
        var second = await OutputAsync(operatorClient, serviceId, "checksum-verification");

        Assert.Equal((false, new FileInfo(Path.Combine(factory.ModelRoot, (string)body["modelFile"]!)).Length), ((bool)first["cached"]!, (long)first["hashedBytes"]!));
        Assert.Equal((true, true, 0L), ((bool)second["verified"]!, (bool)second["cached"]!, (long)second["hashedBytes"]!));
        Assert.Equal(2, done.History().Count(h => (string?)h["operator"] == "approver1" && (string?)h["from"] == "AwaitingApproval"));
    }

    [Fact]
    public async Task Rejected_EndsFailed_WithTheApproversComment_AndDeploysNothing()
    {
        var operatorClient = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);
        var approver = factory.CreateClient(PrivateLlmPipelineFactory.ApproverKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("private-rejected", await factory.ModelWithManifestAsync("private-rejected")));
        await operatorClient.WaitForPendingApprovalAsync(serviceId);

        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("reject", "licence not cleared")).ExpectAsync(HttpStatusCode.OK);
        var failed = await operatorClient.WaitForStateAsync(serviceId, "Failed");

        Assert.Equal("rejected", (string?)failed["lastError"]!["step"]);
        Assert.Equal("ApprovalRejected", (string?)failed["lastError"]!["type"]);
        Assert.Equal("Rejected by approver1: licence not cleared", (string?)failed["lastError"]!["message"]);
        Assert.Contains(failed.History(), h => (string?)h["operator"] == "approver1" && ((string)h["reason"]!).Contains("rejected by approver1: licence not cleared", StringComparison.Ordinal));
        var steps = (await operatorClient.GetPipelineAsync(serviceId))["steps"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string)s!["status"]!);
        Assert.Equal(("Succeeded", "Skipped", "Skipped"), (steps["approval"], steps["config-rendering"], steps["resource-deployment"]));
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
    }

    [Fact]
    public async Task AKeyThePolicyDoesNotAllowTheAcceleratorType_FailsAtPermissionCheck_QuotingTheRule_BeforeAnyApproval()
    {
        var ci = factory.CreateClient(PrivateLlmPipelineFactory.CiKey);
        var body = Deploy("private-ci", await factory.ModelWithManifestAsync("private-ci"));
        body["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA H20", ["acceleratorCount"] = 1, ["cpu"] = "2", ["memory"] = "4Gi" };

        var serviceId = await ci.DeployAsync(body);
        var failed = await ci.WaitForStateAsync(serviceId, "Failed");

        Assert.Equal("permission-check", (string?)failed["lastError"]!["step"]);
        Assert.Equal("PermissionDenied", (string?)failed["lastError"]!["type"]);
        var message = (string)failed["lastError"]!["message"]!;
        Assert.Contains("No rule allows 'ci-bot' (roles: viewer, operator) to deploy 'private-ci'", message, StringComparison.Ordinal);
        Assert.Contains("Rule 'ci-l4-only' {\"name\":\"ci-l4-only\"", message, StringComparison.Ordinal);
        Assert.Contains("it does not allow accelerator type 'NVIDIA H20' (its acceleratorTypes: NVIDIA L4)", message, StringComparison.Ordinal);
        Assert.DoesNotContain(failed.History(), h => (string?)h["to"] == "AwaitingApproval");
        Assert.Null(failed["pendingApproval"]);
        var steps = (await ci.GetPipelineAsync(serviceId))["steps"]!.AsArray();
        Assert.Equal(Steps, steps.Select(s => (string)s!["name"]!));
        Assert.Equal(["Failed", "Skipped", "Skipped", "Skipped", "Skipped", "Skipped", "Skipped", "Skipped", "Skipped"], steps.Select(s => (string)s!["status"]!));
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
    }

    [Fact]
    public async Task AFlippedByteInTheModel_FailsAtChecksumVerification_NamingTheFile_BeforeAnyApproval()
    {
        var operatorClient = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);
        var modelFile = await factory.ModelWithManifestAsync("private-tampered");
        var path = Path.Combine(factory.ModelRoot, modelFile);
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            // The last byte is tensor data: the header still parses (model-validation passes), the digest does not.
            stream.Seek(-1, SeekOrigin.End);
            var b = stream.ReadByte();
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte((byte)(b ^ 0x01));
        }

        var serviceId = await operatorClient.DeployAsync(Deploy("private-tampered", modelFile));
        var failed = await operatorClient.WaitForStateAsync(serviceId, "Failed");

        Assert.Equal("checksum-verification", (string?)failed["lastError"]!["step"]);
        Assert.Equal("ChecksumMismatch", (string?)failed["lastError"]!["type"]);
        Assert.StartsWith("'sample-llama-f32.gguf' does not match its checksum", (string)failed["lastError"]!["message"]!, StringComparison.Ordinal);
        Assert.Null(failed["pendingApproval"]);
        var steps = (await operatorClient.GetPipelineAsync(serviceId))["steps"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string)s!["status"]!);
        Assert.Equal(("Succeeded", "Succeeded", "Failed", "Skipped"), (steps["permission-check"], steps["model-validation"], steps["checksum-verification"], steps["approval"]));
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
    }

    [Fact]
    public async Task VerifyChecksumsInTheRequest_Is400NamingTheField_BecausePrivatellmAlwaysVerifies()
    {
        var operatorClient = factory.CreateClient(PrivateLlmPipelineFactory.OperatorKey);
        var body = Deploy("private-no-skip", await factory.ModelWithManifestAsync("private-no-skip"));
        body["verifyChecksums"] = false;

        var response = await operatorClient.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);

        var error = Assert.Single((await response.ReadJsonAsync())["errors"]!.AsArray())!;
        Assert.Equal("verifyChecksums", (string?)error["field"]);
        Assert.StartsWith("Pipeline 'privatellm' does not take 'verifyChecksums'", (string?)error["message"], StringComparison.Ordinal);
        Assert.EndsWith("It verifies the model's checksums on every deploy (step 'checksum-verification'); they cannot be skipped.", (string?)error["message"], StringComparison.Ordinal);
        Assert.Empty((await operatorClient.GetDataAsync($"{ModServClient.Base}?model=private-no-skip")).AsArray());
    }

    private static async Task<JsonNode> OutputAsync(HttpClient client, string serviceId, string step)
    {
        var pipeline = await client.GetPipelineAsync(serviceId);
        var found = pipeline["steps"]!.AsArray().Single(s => (string)s!["name"]! == step)!;
        return found["attemptDetails"]!.AsArray().Last()!["output"]!;
    }
}
