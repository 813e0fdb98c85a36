using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>Deploying through <c>/api/v1/modserv/deploy</c>: the brief's example, a full deployment, a dry run.</summary>
public sealed class ModServDeployTests(ModServFactory factory) : ModServDeployTestsBase(factory), IClassFixture<ModServFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class ModServDeployPostgresTests(PostgresModServFactory factory) : ModServDeployTestsBase(factory), IClassFixture<PostgresModServFactory>;

public abstract partial class ModServDeployTestsBase(ModServFactory factory)
{
    /// <summary>The brief's curl body, word for word, plus the shimlet to use.</summary>
    private const string BriefBody = """
        {
          "modelName": "llama-3-8b",
          "modelFile": "/models/llama-3-8b",
          "resourceRequirements": {
            "acceleratorType": "NVIDIA H20",
            "acceleratorCount": 1,
            "cpu": "4",
            "memory": "16Gi"
          },
          "replicaCount": 1,
          "shimlet": "test"
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    [GeneratedRegex("^llama-3-8b-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex BriefServiceId();

    [Fact]
    public async Task Deploy_BriefExample_AnswersBriefShape_ThenFailsOnTheMissingModel()
    {
        // The brief's body with the model path moved into the test's model root (the brief's /models is the default root),
        // where no model exists: the request is accepted, and model-validation fails on the missing model.
        var body = JsonNode.Parse(BriefBody)!.AsObject();
        var missing = Path.Combine(factory.ModelRoot, "llama-3-8b");
        body["modelFile"] = missing;
        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.OK);
        var envelope = await response.ReadJsonAsync();

        // The brief's response, exactly: code 0, and data with these three members and no others.
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["code", "data"], envelope.AsObject().Where(p => p.Value is not null).Select(p => p.Key).Order());
        Assert.Equal(0, (int)envelope["code"]!);
        var data = envelope["data"]!.AsObject();
        Assert.Equal(["currentStep", "serviceId", "totalSteps"], data.Select(p => p.Key).Order());
        var serviceId = (string)data["serviceId"]!;
        Assert.Matches(BriefServiceId(), serviceId);
        Assert.Equal("model-validation", (string)data["currentStep"]!);
        Assert.Equal(ModServClient.Steps, data["totalSteps"]!.AsArray().Select(s => (string)s!));

        var service = await _client.WaitForStateAsync(serviceId, "Failed");
        var error = service["lastError"]!;
        Assert.Equal("ModelNotFound", (string)error["type"]!);
        Assert.Equal("model-validation", (string)error["step"]!);
        Assert.Contains(missing, (string)error["message"]!, StringComparison.Ordinal);
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));

        var pipeline = await _client.GetPipelineAsync(serviceId);
        Assert.Equal("Faulted", (string)pipeline["status"]!);
        var steps = pipeline["steps"]!.AsArray().Select(s => s!).ToList();
        Assert.Equal(ModServClient.Steps, steps.Select(s => (string)s["name"]!));
        Assert.Equal(["Failed", "Skipped", "Skipped", "Skipped"], steps.Select(s => (string)s["status"]!));
        Assert.Equal("ModelNotFound", (string)steps[0]["error"]!["type"]!);
        Assert.Equal(1, (int)steps[0]["attempts"]!); // not retryable: one attempt although the step allows two

        var logs = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        var entries = logs["items"]!.AsArray().Select(e => e!).ToList();
        Assert.NotEmpty(entries);
        Assert.All(entries, e => Assert.Equal("anonymous", (string)e["properties"]!["operator"]!)); // who deployed, on every entry
        Assert.Contains(entries, e => (string?)e["activityId"] == "model-validation" && ((string)e["message"]!).Contains(missing, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/models/llama-3-8b")]
    [InlineData("/etc/passwd")]
    [InlineData("../../etc/passwd")]
    public async Task Deploy_ModelFileOutsideTheRoots_Returns400NamingModelFileAndRoots_AndCreatesNothing(string modelFile)
    {
        var model = $"outside-{Guid.NewGuid():N}"[..20];
        var body = ModServClient.Body(model, modelFile);
        var before = (await _client.GetDataAsync(ModServClient.Base)).AsArray().Count;

        var response = await _client.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(body.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);
        var envelope = await response.ReadJsonAsync();

        Assert.Equal(400, (int)envelope["code"]!);
        var error = Assert.Single(envelope["errors"]!.AsArray());
        Assert.Equal("modelFile", (string)error!["field"]!);
        Assert.Contains(factory.ModelRoot, (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains("outside the model roots", (string)error["message"]!, StringComparison.Ordinal);
        var services = (await _client.GetDataAsync(ModServClient.Base)).AsArray();
        Assert.Equal(before, services.Count);
        Assert.DoesNotContain(services, s => (string)s!["modelName"]! == model);
    }

    [Fact]
    public async Task Deploy_SampleGguf_ReachesRunning_WithHistoryFactsPipelineAndManifests()
    {
        const string model = "sample-happy";
        var serviceId = await _client.DeployAsync(ModServClient.Body(model));

        var service = await _client.WaitForStateAsync(serviceId, "Running");

        // History: every state in order, each with a reason and who caused it.
        Assert.Equal(["→Initializing", "Initializing→PipelineRunning", "PipelineRunning→Deploying", "Deploying→HealthChecking", "HealthChecking→Running"], service.Transitions());
        Assert.All(service.History(), h => Assert.False(string.IsNullOrWhiteSpace((string?)h["reason"])));
        Assert.Equal(["anonymous", "pipeline", "pipeline", "pipeline", "pipeline"], service.History().Select(h => (string)h["operator"]!));
        Assert.Contains("resource-deployment", (string)service.History().ElementAt(2)["reason"]!, StringComparison.Ordinal);

        var summary = service["service"]!;
        Assert.Equal(model, (string)summary["modelName"]!);
        Assert.Equal("test", (string)summary["shimlet"]!);
        Assert.Equal("opensourcellm", (string)summary["pipeline"]!);
        Assert.Equal(1, (int)summary["replicas"]!);
        Assert.Equal("anonymous", (string)summary["createdBy"]!);
        Assert.Equal(factory.Runtime.EndpointFor(serviceId).ToString(), (string)summary["endpoint"]!);
        Assert.Null(service["lastError"]);
        var facts = service["model"]!;
        Assert.Equal("llama", (string)facts["architecture"]!);
        Assert.Equal(2, (int)facts["layers"]!);
        Assert.Equal(256, (int)facts["contextLength"]!);
        Assert.True((long)facts["parameterCount"]! > 0);
        Assert.True((long)service["memory"]!["totalBytes"]! > 0);
        Assert.Equal([$"test/default/Deployment/{serviceId}", $"test/default/Service/{serviceId}"], service["resourceIds"]!.AsArray().Select(r => (string)r!));

        var pipeline = await _client.GetPipelineAsync(serviceId);
        Assert.Equal("Completed", (string)pipeline["status"]!);
        var steps = pipeline["steps"]!.AsArray().Select(s => s!).ToList();
        Assert.Equal(ModServClient.Steps, steps.Select(s => (string)s["name"]!));
        Assert.All(steps, s =>
        {
            Assert.Equal("Succeeded", (string)s["status"]!);
            Assert.Equal(1, (int)s["attempts"]!);
            Assert.True((double)s["durationMs"]! >= 0);
            Assert.Single(s["attemptDetails"]!.AsArray());
        });

        var manifest = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/manifests");
        Assert.Equal("llama-cpp", (string)manifest["runtime"]!);
        Assert.Equal(serviceId, (string)manifest["serviceId"]!);
        var args = manifest["args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal("/models/sample/sample-llama-f32.gguf", args[args.IndexOf("--model") + 1]); // one whole argv element
        Assert.Equal("256", args[args.IndexOf("--ctx-size") + 1]);
        Assert.Equal(model, args[args.IndexOf("--alias") + 1]);
        var applied = Assert.Single(factory.Shimlet.AppliedFor(serviceId));
        Assert.Equal(applied.Args, args);
        Assert.Equal(factory.ModelRoot, applied.ModelPath);
    }

    [Fact]
    public async Task Deploy_DryRun_EndsStopped_WithManifests_AndNothingApplied()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("sample-dry", dryRun: true));

        var service = await _client.WaitForStateAsync(serviceId, "Stopped");

        var last = service.History().Last();
        Assert.Contains("dry run", (string)last["reason"]!, StringComparison.Ordinal);
        Assert.Equal("pipeline", (string)last["operator"]!);
        Assert.DoesNotContain(service.Transitions(), t => t.EndsWith("Deploying", StringComparison.Ordinal));
        var manifest = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/manifests");
        Assert.Equal("llama-cpp", (string)manifest["runtime"]!);
        Assert.Contains("/models/sample/sample-llama-f32.gguf", manifest["args"]!.AsArray().Select(a => (string)a!));
        Assert.Empty(factory.Shimlet.AppliedFor(serviceId));
        var steps = (await _client.GetPipelineAsync(serviceId))["steps"]!.AsArray().Select(s => (string)s!["status"]!);
        Assert.Equal(["Succeeded", "Succeeded", "Skipped", "Skipped"], steps);
    }
}
