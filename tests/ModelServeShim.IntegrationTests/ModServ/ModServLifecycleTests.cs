using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>Scale, undeploy, redeploy and the deploy conflicts and refusals, through the API and the test shimlet.</summary>
public sealed class ModServLifecycleTests(ModServFactory factory) : ModServLifecycleTestsBase(factory), IClassFixture<ModServFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class ModServLifecyclePostgresTests(PostgresModServFactory factory) : ModServLifecycleTestsBase(factory), IClassFixture<PostgresModServFactory>;

public abstract class ModServLifecycleTestsBase(ModServFactory factory)
{
    private readonly HttpClient _client = factory.CreateClient();

    private Task<HttpResponseMessage> ScaleAsync(string serviceId, int replicas) =>
        _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json($$"""{"replicaCount": {{replicas}}}"""));

    [Fact]
    public async Task Scale_RunningService_CallsShimletAndRecordsHistory()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("scale-me"));
        await _client.WaitForStateAsync(serviceId, "Running");

        // The answer comes at once with the desired replicas; the scale pipeline calls the shimlet (asynchronous since
        // scale became a pipeline, so the shimlet call and the end state are awaited).
        var envelope = await (await ScaleAsync(serviceId, 3).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(3, (int)envelope["data"]!["replicas"]!);
        Assert.Contains((string)envelope["data"]!["state"]!, new[] { "Scaling", "Running" });

        var service = await _client.WaitForStateAsync(serviceId, "Running");
        Assert.Contains((serviceId, 3), factory.Shimlet.Scaled);
        Assert.Equal(3, (int)service["service"]!["replicas"]!);
        Assert.Equal(["Running→Scaling", "Scaling→Running"], service.Transitions().TakeLast(2));
        var requested = service.History().Reverse().Skip(1).First();
        Assert.Contains("from 1 to 3", (string)requested["reason"]!, StringComparison.Ordinal);
        Assert.Equal("anonymous", (string)requested["operator"]!);
        var pipeline = await _client.GetPipelineAsync(serviceId);
        Assert.Equal("scale", (string)pipeline["pipeline"]!);
        Assert.Equal("Scale", (string)pipeline["operation"]!);
        Assert.Equal("Succeeded", (string)pipeline["steps"]![0]!["status"]!);
    }

    [Fact]
    public async Task Operations_DeployScaleRedeployUndeploy_ListedOldestFirst_WithInstanceOperatorTimesAndOutcome()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("ops-listed"));
        await _client.WaitForStateAsync(serviceId, "Running");
        await ScaleAsync(serviceId, 2).ExpectAsync(HttpStatusCode.OK);
        await _client.WaitForStateAsync(serviceId, "Running");
        await _client.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.OK);
        var redeployed = await _client.WaitForStateAsync(serviceId, "Running");
        await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        var stopped = await _client.WaitForStateAsync(serviceId, "Stopped");

        var operations = (await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/operations")).AsArray().Select(o => o!).ToList();

        Assert.Equal(["Deploy", "Scale", "Redeploy", "Undeploy"], operations.Select(o => (string)o["operation"]!));
        Assert.Equal("scale", (string)operations[1]["pipeline"]!);
        Assert.Equal("undeploy", (string)operations[3]["pipeline"]!);
        Assert.Equal((string)operations[0]["pipeline"]!, (string)operations[2]["pipeline"]!);
        Assert.Equal((string)redeployed["instanceId"]!, (string)operations[2]["instanceId"]!);
        Assert.Equal((string)stopped["instanceId"]!, (string)operations[3]["instanceId"]!);
        Assert.Equal(4, operations.Select(o => (string)o["instanceId"]!).Distinct().Count());
        Assert.All(operations, o =>
        {
            Assert.Equal("Completed", (string)o["status"]!);
            Assert.Equal("anonymous", (string)o["operator"]!);
            Assert.Null(o["error"]);
            Assert.True(DateTimeOffset.Parse((string)o["endedAt"]!, System.Globalization.CultureInfo.InvariantCulture)
                >= DateTimeOffset.Parse((string)o["requestedAt"]!, System.Globalization.CultureInfo.InvariantCulture));
        });
        var requested = operations.Select(o => DateTimeOffset.Parse((string)o["requestedAt"]!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(requested.Order(), requested);
        await _client.GetAsync($"{ModServClient.Base}/no-such-service/operations").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ScaleThenRedeploy_KeepsTheScaledReplicas_DesiredHistoryShowsBothWithOperators()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("scale-then-redeploy"));
        await _client.WaitForStateAsync(serviceId, "Running");
        await ScaleAsync(serviceId, 3).ExpectAsync(HttpStatusCode.OK);
        await _client.WaitForStateAsync(serviceId, "Running");

        await _client.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.OK);
        var service = await _client.WaitForStateAsync(serviceId, "Running");

        Assert.Equal(3, factory.Shimlet.AppliedFor(serviceId).Last().Replicas);
        Assert.Equal(2, factory.Shimlet.AppliedFor(serviceId).Count());
        Assert.Equal(3, (int)service["service"]!["replicas"]!);
        Assert.Equal(3, (int)service["request"]!["replicaCount"]!);
        var changes = service["desiredHistory"]!.AsArray().Select(c => c!).ToList();
        Assert.Equal([1, 2, 3], changes.Select(c => (int)c["generation"]!));
        Assert.StartsWith("deployed", (string)changes[0]["change"]!, StringComparison.Ordinal);
        Assert.Equal("replicas 1 → 3", (string)changes[1]["change"]!);
        Assert.StartsWith("redeployed", (string)changes[2]["change"]!, StringComparison.Ordinal);
        Assert.Equal(3, (int)changes[2]["state"]!["replicaCount"]!);
        Assert.All(changes, c => Assert.Equal("anonymous", (string)c["operator"]!));
    }

    [Fact]
    public async Task Scale_StoppedOrFailedService_Returns409WithState()
    {
        var stopped = await _client.DeployAsync(ModServClient.Body("scale-stopped", dryRun: true));
        await _client.WaitForStateAsync(stopped, "Stopped");
        var failed = await _client.DeployAsync(ModServClient.Body("scale-failed", modelFile: "missing/nothing.gguf"));
        await _client.WaitForStateAsync(failed, "Failed");

        foreach (var (id, state) in new[] { (stopped, "Stopped"), (failed, "Failed") })
        {
            var body = await (await ScaleAsync(id, 2).ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();
            Assert.Equal(409, (int)body["code"]!);
            Assert.Equal(state, (string)body["state"]!);
            Assert.Contains(state, (string)body["message"]!, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(factory.Shimlet.Scaled, s => s.ServiceId == stopped || s.ServiceId == failed);
    }

    [Fact]
    public async Task Delete_RunningService_StopsThroughShimlet()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("delete-me"));
        await _client.WaitForStateAsync(serviceId, "Running");

        var envelope = await (await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Contains((string)envelope["data"]!["state"]!, new[] { "Stopping", "Stopped" });
        var service = await _client.WaitForStateAsync(serviceId, "Stopped");
        Assert.Contains(serviceId, factory.Shimlet.Deleted);
        Assert.Equal(["Running→Stopping", "Stopping→Stopped"], service.Transitions().TakeLast(2));
        Assert.Equal("anonymous", (string)service.History().Last()["operator"]!);
        Assert.Null(service["service"]!["endpoint"]);

        // Stopped: nothing left to undeploy.
        var again = await (await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();
        Assert.Equal("Stopped", (string)again["state"]!);
    }

    [Fact]
    public async Task Redeploy_FailedService_RunsThePipelineAgain()
    {
        const string model = "redeploy-me";
        var modelFile = "late/late.gguf";
        var serviceId = await _client.DeployAsync(ModServClient.Body(model, modelFile: modelFile));
        var failed = await _client.WaitForStateAsync(serviceId, "Failed");
        Assert.Equal("ModelNotFound", (string)failed["lastError"]!["type"]!);
        var firstInstance = (string)failed["instanceId"]!;

        // The model arrives; the same request now succeeds.
        File.Copy(factory.SampleModelPath, Path.Combine(Directory.CreateDirectory(Path.Combine(factory.ModelRoot, "late")).FullName, "late.gguf"));
        var envelope = await (await _client.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal(serviceId, (string)envelope["data"]!["serviceId"]!);
        Assert.Equal(ModServClient.Steps, envelope["data"]!["totalSteps"]!.AsArray().Select(s => (string)s!));
        var service = await _client.WaitForStateAsync(serviceId, "Running");
        Assert.NotEqual(firstInstance, (string)service["instanceId"]!);
        Assert.Null(service["lastError"]);
        Assert.Contains("Failed→Initializing", service.Transitions());
        Assert.Single(factory.Shimlet.AppliedFor(serviceId));
    }

    [Fact]
    public async Task Undeploy_ShimletFailsTwice_RetriedPerTheDefinitionEndsStopped()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("undeploy-flaky"));
        await _client.WaitForStateAsync(serviceId, "Running");
        factory.Shimlet.FailDeletes(serviceId, 2);

        var envelope = await (await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal("Stopping", (string)envelope["data"]!["state"]!);
        var service = await _client.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromSeconds(30));
        Assert.Equal(3, factory.Shimlet.DeleteAttempts.Count(id => id == serviceId));
        Assert.Equal(["Running→Stopping", "Stopping→Stopped"], service.Transitions().TakeLast(2));
        Assert.Equal("anonymous", (string)service.History().Reverse().Skip(1).First()["operator"]!);
        Assert.Null(service["resourceIds"]);
        var pipeline = await _client.GetPipelineAsync(serviceId);
        Assert.Equal("undeploy", (string)pipeline["pipeline"]!);
        var step = pipeline["steps"]!.AsArray().Single()!;
        Assert.Equal("delete-resources", (string)step["name"]!);
        Assert.Equal("Succeeded", (string)step["status"]!);
        Assert.Equal(3, (int)step["attempts"]!);
        var journal = (await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs"))["items"]!.AsArray();
        Assert.Contains(journal, e => (string?)e!["properties"]?["operator"] == "anonymous");
    }

    [Fact]
    public async Task Undeploy_ShimletAlwaysFails_EndsFailedWithTheReasonAndTheRemainingResources()
    {
        var maxAttempts = (int)JsonNode.Parse(File.ReadAllText(Path.Combine(ModServFactory.RepositoryRoot, "workflows", "undeploy.json")))!
            ["root"]!["activities"]![0]!["retry"]!["maxAttempts"]!;
        var serviceId = await _client.DeployAsync(ModServClient.Body("undeploy-stuck"));
        await _client.WaitForStateAsync(serviceId, "Running");
        factory.Shimlet.FailDeletes(serviceId, int.MaxValue);

        await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        var service = await _client.WaitForStateAsync(serviceId, "Failed", TimeSpan.FromSeconds(60));

        Assert.Equal(maxAttempts, factory.Shimlet.DeleteAttempts.Count(id => id == serviceId));
        Assert.DoesNotContain(serviceId, factory.Shimlet.Deleted);
        Assert.Equal("Stopping→Failed", service.Transitions().Last());
        var error = service["lastError"]!;
        Assert.Equal("ShimletFailed", (string)error["type"]!);
        Assert.Equal("delete-resources", (string)error["step"]!);
        Assert.Contains("refused to delete", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains($"Resources remain: test/default/Deployment/{serviceId}", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains($"test/default/Deployment/{serviceId}", service["resourceIds"]!.AsArray().Select(i => (string)i!));

        // Failed with resources left: undeploy again once the environment lets it.
        factory.Shimlet.FailDeletes(serviceId, 0);
        await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await _client.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromSeconds(30));
        Assert.Contains(serviceId, factory.Shimlet.Deleted);
    }

    [Fact]
    public async Task Deploy_LiveModelNameAgain_Returns409()
    {
        var first = await _client.DeployAsync(ModServClient.Body("only-once"));
        await _client.WaitForStateAsync(first, "Running");

        var body = await (await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(ModServClient.Body("only-once").ToJsonString()))
            .ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();

        Assert.Equal(409, (int)body["code"]!);
        Assert.Contains(first, (string)body["message"]!, StringComparison.Ordinal);
        var list = await _client.GetDataAsync($"{ModServClient.Base}?model=only-once");
        Assert.Single(list.AsArray());
    }

    [Fact]
    public async Task Deploy_UnknownShimlet_Returns400ListingAvailable()
    {
        var body = ModServClient.Body("no-such-shimlet");
        body["shimlet"] = "docker";

        var error = await ExpectFieldErrorAsync(body, "shimlet");

        Assert.Contains("docker", error, StringComparison.Ordinal);
        Assert.Contains("test", error, StringComparison.Ordinal);
        Assert.Contains("k8s", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_UnknownPipeline_Returns400ListingAvailable()
    {
        var body = ModServClient.Body("no-such-pipeline");
        body["pipeline"] = "quant-pipeline";

        var error = await ExpectFieldErrorAsync(body, "pipeline");

        Assert.Contains("quant-pipeline", error, StringComparison.Ordinal);
        Assert.Contains("opensourcellm", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_UnknownAccelerator_Returns400ListingKnownTypes()
    {
        var body = ModServClient.Body("no-such-gpu");
        body["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA H2000", ["acceleratorCount"] = 1, ["cpu"] = "4", ["memory"] = "16Gi" };

        var error = await ExpectFieldErrorAsync(body, "resourceRequirements.acceleratorType");

        Assert.Contains("NVIDIA H2000", error, StringComparison.Ordinal);
        Assert.Contains("NVIDIA H20", error.Replace("NVIDIA H2000", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>Posts a deploy that must be refused with 400 naming <paramref name="field"/>; returns that error's message. Nothing is created.</summary>
    private async Task<string> ExpectFieldErrorAsync(JsonObject body, string field)
    {
        var envelope = await (await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest)).ReadJsonAsync();
        Assert.Equal(400, (int)envelope["code"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)envelope["message"]));
        var error = Assert.Single(envelope["errors"]!.AsArray(), e => (string)e!["field"]! == field);
        Assert.Empty((await _client.GetDataAsync($"{ModServClient.Base}?model={body["modelName"]}")).AsArray());
        return (string)error!["message"]!;
    }
}
