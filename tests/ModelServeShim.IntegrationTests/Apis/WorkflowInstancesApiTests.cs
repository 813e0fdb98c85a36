using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

public sealed class WorkflowInstancesApiTests(ShimFactory factory) : WorkflowInstancesApiTestsBase(factory), IClassFixture<ShimFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class WorkflowInstancesApiPostgresTests(PostgresShimFactory factory) : WorkflowInstancesApiTestsBase(factory), IClassFixture<PostgresShimFactory>;

public abstract class WorkflowInstancesApiTestsBase(ShimFactory factory)
{
    // log → flaky (fails its first attempt, retried) → wait: four attempts in all, seven journal entries or more.
    private const string ThreeSteps = """
        {
          "definitionId": "three-steps",
          "inputs": [ { "name": "who", "type": "string", "required": true } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "log", "type": "ModelServeShim.Log", "inputs": { "message": "hello {{ input.who }}" } },
              { "id": "flaky", "type": "ModelServeShim.Fail", "inputs": { "failAttempts": 1, "errorType": "Flaky" },
                "retry": { "maxAttempts": 3, "delay": "10ms", "backoff": "constant" } },
              { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "20ms" } }
            ],
            "connections": [
              { "source": { "activity": "log" }, "target": { "activity": "flaky" } },
              { "source": { "activity": "flaky" }, "target": { "activity": "wait" } }
            ]
          }
        }
        """;

    private const string Quick = """
        {
          "definitionId": "quick",
          "root": { "type": "Flowchart", "activities": [ { "id": "only", "type": "ModelServeShim.Log", "inputs": { "message": "done" } } ] }
        }
        """;

    private const string LongDelay = """
        {
          "definitionId": "long-delay",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "sleep", "type": "ModelServeShim.Delay", "inputs": { "duration": "10m" } },
              { "id": "after", "type": "ModelServeShim.Log", "inputs": { "message": "never" } }
            ],
            "connections": [ { "source": { "activity": "sleep" }, "target": { "activity": "after" } } ]
          }
        }
        """;

    private const string PinnedV1 = """
        {
          "definitionId": "pinned",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "gate", "type": "ModelServeShim.Delay", "inputs": { "duration": "3s" } },
              { "id": "say", "type": "ModelServeShim.Log", "inputs": { "message": "from v1" } }
            ],
            "connections": [ { "source": { "activity": "gate" }, "target": { "activity": "say" } } ]
          }
        }
        """;

    private const string PinnedV2 = """
        {
          "definitionId": "pinned",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "gate", "type": "ModelServeShim.Delay", "inputs": { "duration": "10ms" } },
              { "id": "say", "type": "ModelServeShim.Log", "inputs": { "message": "from v2" } },
              { "id": "extra", "type": "ModelServeShim.Log", "inputs": { "message": "only in v2" } }
            ],
            "connections": [
              { "source": { "activity": "gate" }, "target": { "activity": "say" } },
              { "source": { "activity": "say" }, "target": { "activity": "extra" } }
            ]
          }
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Execute_Returns202ThenCompletesWithStepAttempts()
    {
        await _client.SaveDefinitionAsync(ThreeSteps);

        var response = await _client.PostAsJsonAsync("/api/v1/workflow-definitions/three-steps/execute", new { input = new { who = "tests" }, correlationId = "corr-1" })
            .ExpectAsync(HttpStatusCode.Accepted);
        var summary = await response.ReadJsonAsync();
        var id = summary["id"]!.GetValue<string>();
        Assert.Equal($"/api/v1/workflow-instances/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(1, summary["definitionVersion"]!.GetValue<int>());

        var detail = await _client.WaitForStatusAsync(id, "Completed");

        Assert.Equal("corr-1", detail["instance"]!["correlationId"]!.GetValue<string>());
        Assert.Equal("anonymous", detail["instance"]!["operator"]!.GetValue<string>());
        Assert.Equal("tests", detail["input"]!["who"]!.GetValue<string>());
        var log = Assert.Single(detail.StepsOf("log"));
        Assert.Equal("Succeeded", log["status"]!.GetValue<string>());
        Assert.Equal(1, log["attempt"]!.GetValue<int>());
        Assert.Equal("hello tests", log["input"]!["message"]!.GetValue<string>());

        var flaky = detail.StepsOf("flaky").OrderBy(s => s["attempt"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 2], flaky.Select(s => s["attempt"]!.GetValue<int>()));
        Assert.Equal(["Failed", "Succeeded"], flaky.Select(s => s["status"]!.GetValue<string>()));
        Assert.Equal("Flaky", flaky[0]["errorType"]!.GetValue<string>());
        Assert.False(flaky[0]["isFinal"]!.GetValue<bool>());
        Assert.True(flaky[1]["isFinal"]!.GetValue<bool>());
        Assert.Equal("Succeeded", Assert.Single(detail.StepsOf("wait"))["status"]!.GetValue<string>());
        Assert.NotNull(detail["output"]!["wait"]);
    }

    [Fact]
    public async Task Journal_PagesByAfterSequenceAndPageSize()
    {
        await _client.SaveDefinitionAsync(ThreeSteps);
        var id = await _client.ExecuteAsync("three-steps", new JsonObject { ["who"] = "pager" });
        await _client.WaitForStatusAsync(id, "Completed");

        var all = await (await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var sequences = all["items"]!.AsArray().Select(j => j!["sequence"]!.GetValue<long>()).ToList();
        Assert.True(sequences.Count >= 6, $"expected a journal of 6+ entries, got {all.ToJsonString()}");
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
        Assert.Equal("InstanceCreated", all["items"]![0]!["event"]!.GetValue<string>());
        Assert.Equal("InstanceCompleted", all["items"]![sequences.Count - 1]!["event"]!.GetValue<string>());

        var page = await (await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?afterSequence=2&pageSize=2").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal([3L, 4L], page["items"]!.AsArray().Select(j => j!["sequence"]!.GetValue<long>()));
        Assert.Equal(sequences.Count - 2, page["total"]!.GetValue<int>());
        Assert.Equal(2, page["pageSize"]!.GetValue<int>());

        var second = await (await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?afterSequence=2&pageSize=2&page=2").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal([5L, 6L], second["items"]!.AsArray().Select(j => j!["sequence"]!.GetValue<long>()));

        var pastEnd = await (await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?afterSequence={sequences.Count}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Empty(pastEnd["items"]!.AsArray());

        await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?pageSize=0").ExpectAsync(HttpStatusCode.BadRequest);
        await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?pageSize=1001").ExpectAsync(HttpStatusCode.BadRequest);
        await _client.GetAsync("/api/v1/workflow-instances/no-such-instance/journal").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_FiltersByStatusAndDefinitionAndPages()
    {
        var quick = Quick.Replace("\"quick\"", "\"quick-list\"", StringComparison.Ordinal);
        await _client.SaveDefinitionAsync(quick);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await _client.ExecuteAsync("quick-list"));
        }

        foreach (var id in ids)
        {
            await _client.WaitForStatusAsync(id, "Completed");
        }

        var filtered = await (await _client.GetAsync("/api/v1/workflow-instances?status=Completed&definitionId=quick-list").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(3, filtered["total"]!.GetValue<int>());
        Assert.Equal(ids.Order(), filtered["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).Order());
        Assert.All(filtered["items"]!.AsArray(), i => Assert.Equal("Completed", i!["status"]!.GetValue<string>()));

        var none = await (await _client.GetAsync("/api/v1/workflow-instances?status=faulted&definitionId=quick-list").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(0, none["total"]!.GetValue<int>());

        var page2 = await (await _client.GetAsync("/api/v1/workflow-instances?definitionId=quick-list&pageSize=2&page=2").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(3, page2["total"]!.GetValue<int>());
        Assert.Single(page2["items"]!.AsArray());

        var zero = await _client.GetAsync("/api/v1/workflow-instances?pageSize=0").ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("pageSize", (await zero.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());
        await _client.GetAsync("/api/v1/workflow-instances?pageSize=501").ExpectAsync(HttpStatusCode.BadRequest);
        await _client.GetAsync("/api/v1/workflow-instances?page=0").ExpectAsync(HttpStatusCode.BadRequest);
        var status = await _client.GetAsync("/api/v1/workflow-instances?status=Sleeping").ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("status", (await status.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancel_RunningInstance_CancelsItAndItsStepWithReasonAndOperator()
    {
        await _client.SaveDefinitionAsync(LongDelay);
        var id = await _client.ExecuteAsync("long-delay");
        await _client.WaitForInstanceAsync(id, d => d.StepsOf("sleep").Any(s => s["status"]!.GetValue<string>() == "Running"), "running its Delay step");

        await _client.PostAsJsonAsync($"/api/v1/workflow-instances/{id}/cancel", new { reason = "maintenance window" }).ExpectAsync(HttpStatusCode.Accepted);

        var detail = await _client.WaitForStatusAsync(id, "Cancelled");
        var message = detail["instance"]!["errorMessage"]!.GetValue<string>();
        Assert.Contains("maintenance window", message, StringComparison.Ordinal);
        Assert.Contains("anonymous", message, StringComparison.Ordinal);
        Assert.NotNull(detail["instance"]!["finishedAt"]);
        var sleep = Assert.Single(detail.StepsOf("sleep"));
        Assert.Equal("Cancelled", sleep["status"]!.GetValue<string>());
        Assert.Empty(detail.StepsOf("after"));

        var journal = await _client.JournalAsync(id);
        var cancelled = journal.Single(j => j!["event"]!.GetValue<string>() == "InstanceCancelled")!;
        Assert.Contains("maintenance window", cancelled["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(journal, j => j!["event"]!.GetValue<string>() == "StepCancelled" && j["activityId"]!.GetValue<string>() == "sleep");
    }

    [Fact]
    public async Task Cancel_FinishedInstance_Returns409()
    {
        await _client.SaveDefinitionAsync(Quick);
        var id = await _client.ExecuteAsync("quick");
        await _client.WaitForStatusAsync(id, "Completed");

        var response = await _client.PostAsJsonAsync($"/api/v1/workflow-instances/{id}/cancel", new { reason = "too late" }).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(409, problem["status"]!.GetValue<int>());
        Assert.Contains("Completed", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Completed", problem["instanceStatus"]!.GetValue<string>());
        Assert.Equal("Completed", (await _client.GetInstanceAsync(id)).Status());

        await _client.PostAsJsonAsync("/api/v1/workflow-instances/no-such-instance/cancel", new { reason = "x" }).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RunningInstance_KeepsItsVersion_WhenTheDefinitionIsUpdated()
    {
        await _client.SaveDefinitionAsync(PinnedV1);
        var id = await _client.ExecuteAsync("pinned");
        await _client.WaitForInstanceAsync(id, d => d.StepsOf("gate").Any(s => s["status"]!.GetValue<string>() == "Running"), "running its gate");

        var put = await (await _client.PutAsync("/api/v1/workflow-definitions/pinned", ApiClient.Json(PinnedV2)).ExpectAsync(HttpStatusCode.Created)).ReadJsonAsync();
        Assert.Equal(2, put["definition"]!["version"]!.GetValue<int>());
        Assert.Equal("Running", (await _client.GetInstanceAsync(id)).Status()); // v2 really arrived mid-run.

        var detail = await _client.WaitForStatusAsync(id, "Completed");
        Assert.Equal(1, detail["instance"]!["definitionVersion"]!.GetValue<int>());
        Assert.Equal("from v1", Assert.Single(detail.StepsOf("say"))["input"]!["message"]!.GetValue<string>());
        Assert.Empty(detail.StepsOf("extra"));

        var next = await _client.ExecuteAsync("pinned");
        var nextDetail = await _client.WaitForStatusAsync(next, "Completed");
        Assert.Equal(2, nextDetail["instance"]!["definitionVersion"]!.GetValue<int>());
        Assert.Single(nextDetail.StepsOf("extra"));
    }

    [Fact]
    public async Task Execute_WithWrongInput_Returns400NamingTheInput()
    {
        await _client.SaveDefinitionAsync(ThreeSteps);

        var missing = await _client.PostAsJsonAsync("/api/v1/workflow-definitions/three-steps/execute", new { input = new { } }).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("$.input.who", (await missing.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());

        var wrongType = await _client.PostAsJsonAsync("/api/v1/workflow-definitions/three-steps/execute", new { input = new { who = 5 } }).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("$.input.who", (await wrongType.ReadJsonAsync())["errors"]![0]!["path"]!.GetValue<string>());

        await _client.PostAsJsonAsync("/api/v1/workflow-definitions/three-steps/execute", new { input = new { who = "x" }, version = 9 }).ExpectAsync(HttpStatusCode.NotFound);
        await _client.GetAsync("/api/v1/workflow-instances/no-such-instance").ExpectAsync(HttpStatusCode.NotFound);
    }
}
