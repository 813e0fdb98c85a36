using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Activities.Builtin;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Workflows.Tests.Definitions;

public class ValidatorTests
{
    private static readonly ActivityRegistry Registry = CreateRegistry();

    private static ActivityRegistry CreateRegistry()
    {
        var r = new ActivityRegistry();
        r.AddAssembly(typeof(LogActivity).Assembly, "builtin");
        return r;
    }

    private const string Valid = """
        {
          "definitionId": "demo",
          "inputs": [ { "name": "who", "type": "string", "default": "world" } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "hi {{ input.who }}" } },
              { "id": "b", "type": "ModelServeShim.Delay", "inputs": { "duration": "1s" }, "retry": { "maxAttempts": 3, "delay": "1s" }, "timeout": "5s" },
              { "id": "c", "type": "ModelServeShim.Log", "inputs": { "message": "{{ steps[\"b\"].outcome }}" } }
            ],
            "connections": [
              { "source": { "activity": "a" }, "target": { "activity": "b" } },
              { "source": { "activity": "b", "port": "Done" }, "target": { "activity": "c" } }
            ]
          }
        }
        """;

    private static IReadOnlyList<ValidationError> Validate(string json)
    {
        var definition = DefinitionJson.Parse(json, out var parseError);
        if (definition is null)
        {
            return [parseError!];
        }

        return new WorkflowValidator(Registry).Validate(definition);
    }

    /// <summary>Replaces one fragment of the valid definition.</summary>
    private static string Mutate(string from, string to)
    {
        Assert.Contains(from, Valid, StringComparison.Ordinal);
        return Valid.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ValidDefinition_HasNoErrors()
    {
        Assert.Empty(Validate(Valid));
    }

    public static TheoryData<string, string, string, string> BadDefinitions => new()
    {
        // name, from, to, expected path
        { "unknown activity type", "\"type\": \"ModelServeShim.Delay\"", "\"type\": \"Nope.Nothing\"", "$.root.activities[1].type" },
        { "duplicate id", "{ \"id\": \"c\"", "{ \"id\": \"a\"", "$.root.activities[2].id" },
        { "dangling connection", "\"target\": { \"activity\": \"c\" }", "\"target\": { \"activity\": \"zzz\" }", "$.root.connections[1].target.activity" },
        { "unknown port", "\"port\": \"Done\"", "\"port\": \"Sideways\"", "$.root.connections[1].source.port" },
        { "malformed duration", "\"timeout\": \"5s\"", "\"timeout\": \"five seconds\"", "$.root.activities[1].timeout" },
        { "bad maxAttempts", "\"maxAttempts\": 3", "\"maxAttempts\": 0", "$.root.activities[1].retry.maxAttempts" },
        { "bad backoff", "\"delay\": \"1s\" }", "\"delay\": \"1s\", \"backoff\": \"fibonacci\" }", "$.root.activities[1].retry.backoff" },
        { "maxDelay below delay", "\"delay\": \"1s\" }", "\"delay\": \"10s\", \"maxDelay\": \"1s\" }", "$.root.activities[1].retry.maxDelay" },
        { "missing required input", "\"inputs\": { \"duration\": \"1s\" }", "\"inputs\": { }", "$.root.activities[1].inputs.duration" },
        { "wrong input type", "\"inputs\": { \"duration\": \"1s\" }", "\"inputs\": { \"duration\": 5 }", "$.root.activities[1].inputs.duration" },
        { "unknown input", "\"inputs\": { \"duration\": \"1s\" }", "\"inputs\": { \"duration\": \"1s\", \"speed\": 3 }", "$.root.activities[1].inputs.speed" },
        { "template syntax error", "hi {{ input.who }}", "hi {{ input.who ", "$.root.activities[0].inputs.message" },
        { "template unknown input", "hi {{ input.who }}", "hi {{ input.nobody }}", "$.root.activities[0].inputs.message" },
        { "reference to a later step", "hi {{ input.who }}", "{{ steps[\\\"c\\\"].output }}", "$.root.activities[0].inputs.message" },
        { "reference to a missing step", "hi {{ input.who }}", "{{ steps[\\\"ghost\\\"].output }}", "$.root.activities[0].inputs.message" },
        { "reference to an undeclared input", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"$.input.nobody\" }", "$.root.activities[0].inputs.message.from" },
        { "reference to a later step", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"$.steps.c.outcome\" }", "$.root.activities[0].inputs.message.from" },
        { "reference to a missing step", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"$.steps.ghost.outcome\" }", "$.root.activities[0].inputs.message.from" },
        { "reference to an undeclared output", "\"{{ steps[\\\"b\\\"].outcome }}\"", "{ \"from\": \"$.steps.b.output.elapsed\" }", "$.root.activities[2].inputs.message.from" },
        { "reference of the wrong type", "\"type\": \"ModelServeShim.Delay\", \"inputs\": { \"duration\": \"1s\" }", "\"type\": \"ModelServeShim.Fail\", \"inputs\": { \"failAttempts\": { \"from\": \"$.instance.id\" } }", "$.root.activities[1].inputs.failAttempts.from" },
        { "reference to a member of a string", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"$.input.who.first\" }", "$.root.activities[0].inputs.message.from" },
        { "reference default of the wrong type", "\"duration\": \"1s\"", "\"duration\": { \"from\": \"$.input.who\", \"default\": 5 }", "$.root.activities[1].inputs.duration.default" },
        { "reference path syntax", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"input.who\" }", "$.root.activities[0].inputs.message.from" },
        { "reference with a null default for a required input", "\"message\": \"hi {{ input.who }}\"", "\"message\": { \"from\": \"$.input.who\", \"default\": null }", "$.root.activities[0].inputs.message.default" },
        { "unreachable activity", "{ \"source\": { \"activity\": \"a\" }, \"target\": { \"activity\": \"b\" } },", "", "$.root.activities[1]" },
        { "cycle", "{ \"source\": { \"activity\": \"a\" }, \"target\": { \"activity\": \"b\" } },", "{ \"source\": { \"activity\": \"a\" }, \"target\": { \"activity\": \"b\" } }, { \"source\": { \"activity\": \"c\" }, \"target\": { \"activity\": \"b\" } },", "$.root.connections[" },
        { "duplicate connection", "{ \"source\": { \"activity\": \"a\" }, \"target\": { \"activity\": \"b\" } },", "{ \"source\": { \"activity\": \"a\" }, \"target\": { \"activity\": \"b\" } }, { \"source\": { \"activity\": \"a\", \"port\": \"Done\" }, \"target\": { \"activity\": \"b\" } },", "$.root.connections[1]" },
        { "unknown property", "\"timeout\": \"5s\"", "\"timeout\": \"5s\", \"retires\": 2", "$.root.activities[1].retires" },
        { "bad definition id", "\"definitionId\": \"demo\"", "\"definitionId\": \"Demo Pipeline!\"", "$.definitionId" },
        { "wrong root type", "\"type\": \"Flowchart\"", "\"type\": \"Sequence\"", "$.root.type" },
        { "input default of wrong type", "\"default\": \"world\"", "\"default\": 42", "$.inputs[0].default" },
        { "wrong version pin", "\"type\": \"ModelServeShim.Delay\"", "\"type\": \"ModelServeShim.Delay\", \"version\": 9", "$.root.activities[1].version" },
    };

    [Theory]
    [MemberData(nameof(BadDefinitions))]
    public void Validate_BadDefinition_ReportsErrorAtPath(string kind, string from, string to, string expectedPath)
    {
        var errors = Validate(Mutate(from, to));

        Assert.True(errors.Count > 0, $"{kind}: expected an error");
        Assert.Contains(errors, e => e.Path.StartsWith(expectedPath, StringComparison.Ordinal) && e.Message.Length > 20);
    }

    [Fact]
    public void Validate_CycleWithoutStart_ReportsCycleAndNamesTheLoop()
    {
        var json = """
            { "definitionId": "loop", "root": { "activities": [
                { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "x" } },
                { "id": "b", "type": "ModelServeShim.Log", "inputs": { "message": "y" } } ],
              "connections": [
                { "source": { "activity": "a" }, "target": { "activity": "b" } },
                { "source": { "activity": "b" }, "target": { "activity": "a" } } ] } }
            """;

        var errors = Validate(json);

        var cycle = Assert.Single(errors);
        Assert.Equal("$.root.connections[1]", cycle.Path);
        Assert.Contains("a → b → a", cycle.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownType_ListsKnownTypesAndActivityId()
    {
        var errors = Validate(Mutate("\"type\": \"ModelServeShim.Delay\"", "\"type\": \"Nope.Nothing\""));

        var error = Assert.Single(errors, e => e.Path == "$.root.activities[1].type");
        Assert.Equal("b", error.ActivityId);
        Assert.Contains("ModelServeShim.Delay", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_FailedPortConnection_IsAccepted()
    {
        var json = Mutate("\"port\": \"Done\"", "\"port\": \"Failed\"");

        Assert.Empty(Validate(json));
    }
}
