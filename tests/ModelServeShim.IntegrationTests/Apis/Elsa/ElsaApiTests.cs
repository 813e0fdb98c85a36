using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.Security;

namespace ModelServeShim.IntegrationTests.Apis.Elsa;

/// <summary><c>/elsa/api</c> through HTTP, authenticated as Elsa Studio does (<c>Authorization: ApiKey</c>).</summary>
public sealed class ElsaApiTests(ElsaShimFactory factory) : IClassFixture<ElsaShimFactory>
{
    private const string Greeter = """
        {
          "definitionId": "elsa-greeter",
          "inputs": [ { "name": "who", "type": "string", "required": true } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "hello", "type": "ModelServeShim.Log", "inputs": { "message": "hello {{ input.who }}" },
                "metadata": { "designer": { "position": { "x": 0, "y": 0 } } } },
              { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "10ms" }, "timeout": "5s",
                "retry": { "maxAttempts": 2, "delay": "10ms", "backoff": "constant" } }
            ],
            "connections": [ { "source": { "activity": "hello" }, "target": { "activity": "wait" } } ]
          }
        }
        """;

    [Fact]
    public async Task ByDefinitionId_Opensourcellm_HasFourNodesThreeConnectionsAndThePublishLink()
    {
        using var studio = factory.CreateStudioClient(AuthShimFactory.OperatorKey);

        var model = await (await studio.GetAsync("/elsa/api/workflow-definitions/by-definition-id/opensourcellm?versionOptions=Latest")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.True(model["isLatest"]!.GetValue<bool>());
        Assert.False(model["isReadonly"]!.GetValue<bool>());
        Assert.Contains(model["links"]!.AsArray(), l => l!["rel"]!.GetValue<string>() == "publish");
        var activities = model["root"]!["activities"]!.AsArray();
        Assert.Equal(4, activities.Count);
        Assert.All(activities, a => Assert.StartsWith("flowchart:", a!["nodeId"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal(3, model["root"]!["connections"]!.AsArray().Count);
        Assert.Equal(840, activities[3]!["metadata"]!["designer"]!["position"]!["x"]!.GetValue<int>());

        var byId = await (await studio.GetAsync($"/elsa/api/workflow-definitions/by-id/{model["id"]!.GetValue<string>()}")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(model["version"]!.GetValue<int>(), byId["version"]!.GetValue<int>());

        var list = await (await studio.GetAsync("/elsa/api/workflow-definitions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Contains(list["items"]!.AsArray(), d => d!["definitionId"]!.GetValue<string>() == "opensourcellm");
        Assert.True(list["totalCount"]!.GetValue<int>() >= 4);
    }

    [Fact]
    public async Task ViewerKey_GetsAReadOnlyDefinition_AndCannotSave_WrongKeyIs401()
    {
        using var viewer = factory.CreateStudioClient(AuthShimFactory.ViewerKey);
        var model = await (await viewer.GetAsync("/elsa/api/workflow-definitions/by-definition-id/opensourcellm?versionOptions=Latest")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.True(model["isReadonly"]!.GetValue<bool>());
        Assert.Empty(model["links"]!.AsArray());

        await viewer.PostAsJsonAsync("/elsa/api/workflow-definitions", new { model, publish = true }).ExpectAsync(HttpStatusCode.Forbidden);

        using var wrong = factory.CreateStudioClient("not-a-key");
        await wrong.GetAsync("/elsa/api/descriptors/activities").ExpectAsync(HttpStatusCode.Unauthorized);
        using var none = factory.CreateClient();
        await none.GetAsync("/elsa/api/descriptors/activities").ExpectAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Descriptors_HaveTheFlowchartOurActivitiesWithPortsAndBrowsableInputs_AndLiquid()
    {
        using var studio = factory.CreateStudioClient(AuthShimFactory.ViewerKey);

        var activities = (await (await studio.GetAsync("/elsa/api/descriptors/activities?Refresh=True").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["items"]!.AsArray();
        var flowchart = activities.Single(a => a!["typeName"]!.GetValue<string>() == "Elsa.Flowchart")!;
        Assert.True(flowchart["isContainer"]!.GetValue<bool>());
        var log = activities.Single(a => a!["typeName"]!.GetValue<string>() == "ModelServeShim.Log")!;
        Assert.Equal("Primitives", log["category"]!.GetValue<string>());
        Assert.Equal("Log", log["displayName"]!.GetValue<string>());
        Assert.All(log["inputs"]!.AsArray(), i => Assert.True(i!["isBrowsable"]!.GetValue<bool>()));
        Assert.Equal("multiline", log["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == "message")!["uiHint"]!.GetValue<string>());
        Assert.Equal("dropdown", log["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == "level")!["uiHint"]!.GetValue<string>());
        Assert.Contains(log["inputs"]!.AsArray(), i => i!["name"]!.GetValue<string>() == "retryMaxAttempts" && i["category"]!.GetValue<string>() == "Resilience");
        var ports = log["ports"]!.AsArray();
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == "Done" && p["type"]!.GetValue<string>() == "Flow");
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == "Failed");

        var expressions = (await (await studio.GetAsync("/elsa/api/descriptors/expression-descriptors").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["items"]!.AsArray();
        Assert.Contains(expressions, e => e!["type"]!.GetValue<string>() == "Liquid");
        Assert.DoesNotContain(expressions, e => e!["type"]!.GetValue<string>() == "JavaScript");

        foreach (var path in new[] { "descriptors/workflow-activation-strategies", "descriptors/log-persistence-strategies", "features/installed",
            "incident-strategies", "commit-strategies/workflows", "commit-strategies/activities", "descriptors/variables", "descriptors/storage-drivers" })
        {
            var list = await (await studio.GetAsync($"/elsa/api/{path}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
            Assert.Equal(0, list["count"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task Publish_MovedNode_IsANewVersionInOurStore_DraftIsNotStored()
    {
        using var api = factory.CreateClient(AuthShimFactory.OperatorKey);
        await api.SaveDefinitionAsync(Greeter.Replace("elsa-greeter", "elsa-move", StringComparison.Ordinal));
        using var studio = factory.CreateStudioClient(AuthShimFactory.OperatorKey);
        var model = (await (await studio.GetAsync("/elsa/api/workflow-definitions/by-definition-id/elsa-move?versionOptions=Latest")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsObject();
        model["root"]!["activities"]![0]!["metadata"]!["designer"]!["position"] = new JsonObject { ["x"] = 123.5, ["y"] = 45 };

        var draft = await (await studio.PostAsJsonAsync("/elsa/api/workflow-definitions", new { model, publish = false }).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.False(draft["workflowDefinition"]!["isPublished"]!.GetValue<bool>());
        Assert.Single((await (await api.GetAsync("/api/v1/workflow-definitions/elsa-move/versions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsArray());

        var saved = await (await studio.PostAsJsonAsync("/elsa/api/workflow-definitions", new { model, publish = true }).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(2, saved["workflowDefinition"]!["version"]!.GetValue<int>());
        Assert.Contains(saved["workflowDefinition"]!["links"]!.AsArray(), l => l!["rel"]!.GetValue<string>() == "publish");

        var stored = await (await api.GetAsync("/api/v1/workflow-definitions/elsa-move").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(2, stored["version"]!.GetValue<int>());
        Assert.Equal(123.5, stored["root"]!["activities"]![0]!["metadata"]!["designer"]!["position"]!["x"]!.GetValue<double>());
        Assert.Equal("5s", stored["root"]!["activities"]![1]!["timeout"]!.GetValue<string>());
        Assert.Equal(2, stored["root"]!["activities"]![1]!["retry"]!["maxAttempts"]!.GetValue<int>());
        Assert.Equal("hello {{ input.who }}", stored["root"]!["activities"]![0]!["inputs"]!["message"]!.GetValue<string>());
        var versions = await (await api.GetAsync("/api/v1/workflow-definitions/elsa-move/versions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("elsa-studio", versions[0]!["source"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("stepTimeout", "Literal", "soon", "timeout")]
    [InlineData("duration", "JavaScript", "'5s'", "duration")]
    public async Task Publish_Invalid_AnswersASaveErrorNamingTheNode_AndStoresNothing(string input, string syntax, string value, string named)
    {
        var id = $"elsa-bad-{named}";
        using var api = factory.CreateClient(AuthShimFactory.OperatorKey);
        await api.SaveDefinitionAsync(Greeter.Replace("elsa-greeter", id, StringComparison.Ordinal));
        using var studio = factory.CreateStudioClient(AuthShimFactory.OperatorKey);
        var model = (await (await studio.GetAsync($"/elsa/api/workflow-definitions/by-definition-id/{id}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsObject();
        model["root"]!["activities"]![1]![input] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = syntax, ["value"] = value } };

        var response = await studio.PostAsJsonAsync("/elsa/api/workflow-definitions", new { model, publish = true }).ExpectAsync(HttpStatusCode.BadRequest);

        var problem = await response.ReadJsonAsync();
        Assert.Contains("'wait'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(named, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(problem["errors"]!.AsObject(), e => e.Key.StartsWith("wait", StringComparison.Ordinal));
        Assert.Single((await (await api.GetAsync($"/api/v1/workflow-definitions/{id}/versions").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsArray());
    }

    [Fact]
    public async Task Execute_ThenTheInstanceViewerEndpoints_ShowStateJournalExecutionsAndCounts()
    {
        using var api = factory.CreateClient(AuthShimFactory.OperatorKey);
        await api.SaveDefinitionAsync(Greeter);
        using var studio = factory.CreateStudioClient(AuthShimFactory.OperatorKey);

        var started = await (await studio.PostAsJsonAsync("/elsa/api/workflow-definitions/elsa-greeter/execute", new { input = new { who = "studio" } })
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var id = started["workflowState"]!["id"]!.GetValue<string>();
        await api.WaitForStatusAsync(id, "Completed");

        var instance = await (await studio.GetAsync($"/elsa/api/workflow-instances/{id}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Finished", instance["status"]!.GetValue<string>());
        Assert.Equal("Finished", instance["subStatus"]!.GetValue<string>());
        Assert.Equal("elsa-greeter:1", instance["definitionVersionId"]!.GetValue<string>());
        Assert.Equal("studio", instance["workflowState"]!["input"]!["who"]!.GetValue<string>());
        await studio.GetAsync($"/elsa/api/workflow-definitions/by-id/{instance["definitionVersionId"]!.GetValue<string>()}").ExpectAsync(HttpStatusCode.OK);

        var state = await (await studio.GetAsync($"/elsa/api/workflow-instances/{id}/execution-state").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Finished", state["workflowSubStatus"]!.GetValue<string>());

        var journal = (await (await studio.PostAsJsonAsync($"/elsa/api/workflow-instances/{id}/journal?skip=0&take=50", new { filter = new { } })
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["items"]!.AsArray();
        Assert.Contains(journal, r => r!["activityId"]!.GetValue<string>() == "hello" && r["eventName"]!.GetValue<string>() == "Started");
        Assert.Contains(journal, r => r!["activityId"]!.GetValue<string>() == "hello" && r["eventName"]!.GetValue<string>() == "Log"
            && r["message"]!.GetValue<string>() == "hello studio");
        Assert.Contains(journal, r => r!["activityId"]!.GetValue<string>() == "wait" && r["eventName"]!.GetValue<string>() == "Completed");
        var filtered = await (await studio.PostAsJsonAsync($"/elsa/api/workflow-instances/{id}/journal", new { filter = new { activityIds = new[] { "wait" } } })
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.All(filtered["items"]!.AsArray(), r => Assert.Equal("wait", r!["activityId"]!.GetValue<string>()));
        Assert.Equal(filtered["items"]!.AsArray().Count, filtered["totalCount"]!.GetValue<int>());

        var executions = (await (await studio.GetAsync($"/elsa/api/activity-executions/list?workflowInstanceId={id}&activityNodeId=flowchart:hello")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["items"]!.AsArray();
        var execution = Assert.Single(executions)!;
        Assert.Equal("Completed", execution["status"]!.GetValue<string>());
        Assert.Equal("hello studio", execution["activityState"]!["message"]!.GetValue<string>());
        var byId = await (await studio.GetAsync($"/elsa/api/activity-executions/by-id/{execution["id"]!.GetValue<string>()}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("hello", byId["activityId"]!.GetValue<string>());
        var summaries = (await (await studio.GetAsync($"/elsa/api/activity-execution-summaries/list?workflowInstanceId={id}&activityId=wait")
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync())["items"]!.AsArray();
        Assert.Single(summaries);

        var report = await (await studio.PostAsJsonAsync("/elsa/api/activity-executions/report", new { workflowInstanceId = id, activityIds = new[] { "hello", "wait" } })
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var stats = report["stats"]!.AsArray();
        Assert.Equal(2, stats.Count);
        Assert.All(stats, s => Assert.Equal(1, s!["completedCount"]!.GetValue<int>()));

        var variables = await (await studio.GetAsync($"/elsa/api/workflow-instances/{id}/variables").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(0, variables["count"]!.GetValue<int>());
        await studio.GetAsync("/elsa/api/workflow-instances/nope").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Preflight_FromTheConfiguredOrigin_IsAnsweredWithTheHeaders_OtherOriginsAreNot()
    {
        using var client = factory.CreateClient();
        using var allowed = Preflight(ElsaShimFactory.StudioOrigin);
        var response = await client.SendAsync(allowed);
        Assert.True(response.IsSuccessStatusCode, $"preflight answered {(int)response.StatusCode}");
        Assert.Equal(ElsaShimFactory.StudioOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var headers = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToUpperInvariant();
        Assert.Contains("AUTHORIZATION", headers, StringComparison.Ordinal);
        Assert.Contains("X-TENANT-ID", headers, StringComparison.Ordinal);

        using var other = Preflight("http://elsewhere.test");
        var refused = await client.SendAsync(other);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task ImportAndExport_ElsaFormat_RoundTripThroughTheApi()
    {
        using var api = factory.CreateClient(AuthShimFactory.OperatorKey);
        var exported = await (await api.GetAsync("/api/v1/workflow-definitions/scale/export?format=elsa").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Elsa.Flowchart", exported["root"]!["type"]!.GetValue<string>());
        exported["definitionId"] = "scale-from-elsa";

        var imported = await (await api.PostAsync("/api/v1/workflow-definitions/import", ApiClient.Json(exported.ToJsonString())).ExpectAsync(HttpStatusCode.Created)).ReadJsonAsync();
        Assert.Equal("import", imported["definition"]!["source"]!.GetValue<string>());

        var original = (await (await api.GetAsync("/api/v1/workflow-definitions/scale").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsObject();
        var copy = (await (await api.GetAsync("/api/v1/workflow-definitions/scale-from-elsa").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync()).AsObject();
        Assert.Equal(original["root"]!.ToJsonString(), copy["root"]!.ToJsonString());
        Assert.Equal(original["inputs"]!.ToJsonString(), copy["inputs"]!.ToJsonString());

        await api.GetAsync("/api/v1/workflow-definitions/scale/export?format=bpmn").ExpectAsync(HttpStatusCode.BadRequest);
        exported["root"]!["activities"]![0]!["x"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "1" } };
        exported["definitionId"] = "scale-bad";
        await api.PostAsync("/api/v1/workflow-definitions/import", ApiClient.Json(exported.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);
        await api.GetAsync("/api/v1/workflow-definitions/scale-bad").ExpectAsync(HttpStatusCode.NotFound);
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/elsa/api/workflow-definitions/by-definition-id/opensourcellm?versionOptions=Latest");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-tenant-id");
        return request;
    }
}
