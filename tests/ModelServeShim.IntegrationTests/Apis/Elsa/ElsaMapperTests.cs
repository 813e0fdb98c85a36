using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.Apis.Elsa;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.IntegrationTests.Apis.Elsa;

/// <summary>The mapping both ways, with the real activity registry (every built-in and LLM activity).</summary>
public sealed class ElsaMapperTests(ElsaShimFactory factory) : IClassFixture<ElsaShimFactory>
{
    private ElsaDefinitionMapper Mapper => factory.Services.GetRequiredService<ElsaDefinitionMapper>();

    public static TheoryData<string> Pipelines() =>
        [.. Directory.EnumerateFiles(Path.Combine(ModServFactory.RepositoryRoot, "workflows"), "*.json").Select(f => Path.GetFileName(f)).Order()];

    [Theory]
    [MemberData(nameof(Pipelines))]
    public void BuiltinPipeline_ToElsaAndBack_IsTheSameDefinition(string file)
    {
        var original = DefinitionJson.Parse(File.ReadAllText(Path.Combine(ModServFactory.RepositoryRoot, "workflows", file)), out var error)
            ?? throw new InvalidOperationException(error!.Message);

        // Through text, as it travels.
        var model = JsonNode.Parse(Mapper.ToModel(original, null).ToJsonString())!.AsObject();
        var back = Mapper.FromModel(model, out var errors);

        Assert.Empty(errors);
        Assert.Equal(DefinitionJson.Serialize(original), DefinitionJson.Serialize(back!));
    }

    [Fact]
    public void ToModel_Opensourcellm_HasNodeIdsDisplayTextPositionsExpressionsAndResilience()
    {
        var definition = DefinitionJson.Parse(File.ReadAllText(Path.Combine(ModServFactory.RepositoryRoot, "workflows", "opensourcellm.json")), out _)!;
        var record = new DefinitionRecord { DefinitionId = "opensourcellm", Version = 3, IsLatest = true, CreatedAt = DateTimeOffset.UnixEpoch };

        var model = Mapper.ToModel(definition, record);

        Assert.Equal("opensourcellm:3", model["id"]!.GetValue<string>());
        var root = model["root"]!;
        Assert.Equal(ElsaDefinitionMapper.FlowchartType, root["type"]!.GetValue<string>());
        Assert.Equal("flowchart", root["nodeId"]!.GetValue<string>());
        var activities = root["activities"]!.AsArray();
        Assert.Equal(4, activities.Count);
        Assert.Equal(3, root["connections"]!.AsArray().Count);
        var deploy = activities[2]!;
        Assert.Equal("flowchart:resource-deployment", deploy["nodeId"]!.GetValue<string>());
        Assert.Equal("Resource deployment", deploy["metadata"]!["displayText"]!.GetValue<string>());
        Assert.Equal(560, deploy["metadata"]!["designer"]!["position"]!["x"]!.GetValue<int>());
        Assert.Equal("Reference", deploy["spec"]!["expression"]!["type"]!.GetValue<string>());
        Assert.Equal("$.steps.config-rendering.output.spec", deploy["spec"]!["expression"]!["value"]!.GetValue<string>());
        Assert.Equal(5, deploy["retryMaxAttempts"]!["expression"]!["value"]!.GetValue<int>());
        Assert.Equal("2m", deploy["stepTimeout"]!["expression"]!["value"]!.GetValue<string>());
        var health = activities[3]!;
        Assert.Equal("Literal", health["probeModels"]!["expression"]!["type"]!.GetValue<string>());
        Assert.Equal("Boolean", health["probeModels"]!["typeName"]!.GetValue<string>());
    }

    [Fact]
    public void FromModel_StudioTextLiterals_AreConvertedToTheInputsTypes()
    {
        var model = Model("""
            { "id": "wait", "type": "ModelServeShim.Delay", "version": 1,
              "duration": { "typeName": "String", "expression": { "type": "Literal", "value": "5s" } },
              "retryMaxAttempts": { "typeName": "Int32", "expression": { "type": "Literal", "value": "3" } },
              "retryJitter": { "typeName": "Boolean", "expression": { "type": "Literal", "value": "true" } },
              "stepTimeout": { "typeName": "String", "expression": { "type": "Literal", "value": "1m" } },
              "metadata": { "displayText": "Wait a bit", "designer": { "position": { "x": 10.5, "y": 20 } } } },
            { "id": "log", "type": "ModelServeShim.Log", "version": 1,
              "message": { "typeName": "String", "expression": { "type": "Liquid", "value": "waited for {{ input.who }}" } },
              "level": { "typeName": "String", "expression": { "type": "Literal", "value": null } } },
            { "id": "call", "type": "ModelServeShim.Log", "version": 1,
              "message": { "typeName": "String", "expression": { "type": "Input", "value": "who" } } }
            """);

        var definition = Mapper.FromModel(model, out var errors)!;

        Assert.Empty(errors);
        var wait = definition.Root!.Activities[0];
        Assert.Equal("Wait a bit", wait.DisplayName);
        Assert.Equal(3, wait.Retry!.MaxAttempts);
        Assert.True(wait.Retry.Jitter);
        Assert.Equal("1m", wait.Timeout);
        Assert.Equal("5s", wait.Inputs["duration"]!.GetValue<string>());
        Assert.Equal(10.5, wait.Metadata!["designer"]!["position"]!["x"]!.GetValue<double>());
        var log = definition.Root.Activities[1];
        Assert.Equal("waited for {{ input.who }}", log.Inputs["message"]!.GetValue<string>());
        Assert.False(log.Inputs.ContainsKey("level"));
        Assert.Equal("$.input.who", definition.Root.Activities[2].Inputs["message"]!["from"]!.GetValue<string>());
        Assert.Equal("wait", definition.Root.Connections[0].Source!.Activity);
        Assert.Null(definition.Root.Connections[0].Target!.Port);
    }

    [Theory]
    [InlineData("JavaScript")]
    [InlineData("CSharp")]
    [InlineData("Variable")]
    public void FromModel_ExpressionKindWeCannotRun_IsRefusedNamingNodeAndInput(string syntax)
    {
        var model = Model($$"""
            { "id": "wait", "type": "ModelServeShim.Delay", "version": 1,
              "duration": { "typeName": "String", "expression": { "type": "{{syntax}}", "value": "'5s'" } } }
            """);

        var definition = Mapper.FromModel(model, out var errors);

        Assert.Null(definition);
        var error = Assert.Single(errors);
        Assert.Equal("wait", error.ActivityId);
        Assert.Equal("$.root.activities[0].duration", error.Path);
        Assert.Contains("'wait'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'duration'", error.Message, StringComparison.Ordinal);
        Assert.Contains(syntax, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromModel_ReferenceWithDefault_AndBadPath()
    {
        var good = Mapper.FromModel(Model("""
            { "id": "log", "type": "ModelServeShim.Log", "version": 1,
              "message": { "typeName": "String", "expression": { "type": "Reference", "value": "{\"from\":\"$.input.who\",\"default\":\"nobody\"}" } } }
            """), out _)!;
        Assert.Equal("nobody", good.Root!.Activities[0].Inputs["message"]!["default"]!.GetValue<string>());

        var bad = Mapper.FromModel(Model("""
            { "id": "log", "type": "ModelServeShim.Log", "version": 1,
              "message": { "typeName": "String", "expression": { "type": "Reference", "value": "input.who" } } }
            """), out var errors);
        Assert.Null(bad);
        Assert.Contains("$.", Assert.Single(errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromModel_RootThatIsNotAFlowchart_IsRefused()
    {
        var model = JsonNode.Parse("""{ "definitionId": "x", "root": { "type": "Elsa.Sequence", "activities": [] } }""")!.AsObject();

        Assert.Null(Mapper.FromModel(model, out var errors));
        Assert.Equal("$.root.type", Assert.Single(errors).Path);
    }

    [Theory]
    [InlineData("Pending", false, "Running", "Pending")]
    [InlineData("Running", false, "Running", "Executing")]
    [InlineData("Suspended", false, "Running", "Suspended")]
    [InlineData("Completed", true, "Finished", "Finished")]
    [InlineData("Faulted", true, "Finished", "Faulted")]
    [InlineData("Cancelled", true, "Finished", "Cancelled")]
    [InlineData("SomethingNew", false, "Running", "Executing")]
    [InlineData("SomethingNew", true, "Finished", "Finished")]
    public void Status_MapsKnownAndUnknownStatuses(string ours, bool finished, string status, string subStatus) =>
        Assert.Equal((status, subStatus), ElsaInstanceMapper.Status(ours, finished));

    [Theory]
    [InlineData("https://studio.example.org", true)]
    [InlineData("http://localhost:5000/", true)]
    [InlineData("*", false)]
    [InlineData("https://studio.example.org/path", false)]
    [InlineData("ftp://studio.example.org", false)]
    [InlineData("studio.example.org", false)]
    public void AllowedOrigins_AcceptOnlyOrigins(string value, bool valid) => Assert.Equal(valid, ElsaApiExtensions.IsOrigin(value));

    private static JsonObject Model(string activities) => JsonNode.Parse($$"""
        {
          "definitionId": "studio-made", "name": "Studio made",
          "inputs": [ { "name": "who", "type": "String" } ],
          "root": {
            "type": "Elsa.Flowchart", "id": "flowchart", "nodeId": "flowchart",
            "activities": [ {{activities}} ],
            "connections": [ { "source": { "activity": "wait", "port": "Done" }, "target": { "activity": "log", "port": "In" }, "vertices": [] } ]
          }
        }
        """)!.AsObject();
}
