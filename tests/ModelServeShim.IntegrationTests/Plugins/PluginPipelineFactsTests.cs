using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>
/// A deploy pipeline made only of plugin activities, with their own output names: the service view gets its endpoint,
/// model facts, memory estimate and resource ids from the kinds the activities declare, not from type or step names.
/// </summary>
public sealed class PluginPipelineFactsTests(PluginsFactory factory) : IClassFixture<PluginsFactory>
{
    private const string Pipeline = """
        {
          "definitionId": "plugin-only",
          "inputs": [
            { "name": "serviceId", "type": "string", "required": true },
            { "name": "modelName", "type": "string", "required": true },
            { "name": "modelFile", "type": "string", "required": true },
            { "name": "resourceRequirements", "type": "object", "required": true },
            { "name": "replicaCount", "type": "integer", "default": 1 },
            { "name": "shimlet", "type": "string", "required": true }
          ],
          "root": { "type": "Flowchart",
            "activities": [
              { "id": "look", "type": "Sample.InspectModel", "inputs": { "modelFile": { "from": "$.input.modelFile" } } },
              { "id": "go", "type": "Sample.Provision", "inputs": {
                  "serviceId": { "from": "$.input.serviceId" }, "modelName": { "from": "$.input.modelName" },
                  "modelFile": { "from": "$.input.modelFile" }, "shimlet": { "from": "$.input.shimlet" } },
                "retry": { "maxAttempts": 2, "delay": "200ms" }, "timeout": "30s" } ],
            "connections": [ { "source": { "activity": "look", "port": "Done" }, "target": { "activity": "go" } } ] } }
        """;

    [Fact]
    public async Task Deploy_WithAPipelineOfPluginActivities_FillsEndpointAndModelFactsFromDeclaredOutputKinds()
    {
        var admin = factory.CreateClient(PluginsFactory.AdminKey);
        SamplePluginFiles.Install(factory.PluginsDir);
        await admin.PostAsync("/api/v1/plugins/load", PluginsApiTests.Name(SamplePluginFiles.Name)).ExpectAsync(HttpStatusCode.OK);
        (await admin.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(Pipeline))).EnsureSuccessStatusCode();
        var body = ModServClient.Body("plugin-facts");
        body["shimlet"] = "sample";
        body["pipeline"] = "plugin-only";
        body.Remove("dryRun");

        var serviceId = await admin.DeployAsync(body);
        var service = await admin.WaitForStateAsync(serviceId, "Running");

        Assert.Equal("http://127.0.0.1:9/", (string)service["service"]!["endpoint"]!);
        Assert.Equal("sample", (string)service["model"]!["architecture"]!);
        Assert.Equal(42, (int)service["model"]!["parameterCount"]!);
        Assert.True((bool)service["memory"]!["fits"]!);
        var resource = (string)Assert.Single(service["resourceIds"]!.AsArray())!;
        Assert.EndsWith($"/default/{serviceId}", resource, StringComparison.Ordinal);
    }
}
