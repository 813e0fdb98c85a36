using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Workflows.Tests.Definitions;

public class InputReferenceTests
{
    [Theory]
    [InlineData("""{ "from": "$.input.modelFile" }""", true)]
    [InlineData("""{ "from": "$.input.a", "default": null }""", true)]
    [InlineData("""{ "from": "$.input.a", "other": 1 }""", false)]
    [InlineData("""{ "default": 1 }""", false)]
    [InlineData("""{ "cpu": "4" }""", false)]
    public void IsReference_OnlyObjectsOfFromAndDefault(string json, bool expected) =>
        Assert.Equal(expected, InputReference.IsReference(JsonNode.Parse(json)));

    [Theory]
    [InlineData("$.input.resourceRequirements.acceleratorType", new[] { "input", "resourceRequirements", "acceleratorType" })]
    [InlineData("$.steps.model-validation.output.modelPath", new[] { "steps", "model-validation", "output", "modelPath" })]
    [InlineData("$.steps[\"model-validation\"].output['spec'].healthPath", new[] { "steps", "model-validation", "output", "spec", "healthPath" })]
    [InlineData("$.instance.id", new[] { "instance", "id" })]
    public void TryParse_ReadsDottedAndBracketedMembers(string path, string[] names)
    {
        Assert.True(InputReference.TryParse(new JsonObject { ["from"] = path }, out var reference, out var error), error);
        Assert.Equal(names, reference!.Segments.Select(s => s.Name));
        Assert.False(reference.HasDefault);
    }

    [Theory]
    [InlineData("input.a")]
    [InlineData("$.variables.a")]
    [InlineData("$.input..a")]
    [InlineData("$.input.a[x]")]
    [InlineData("$.input.a b")]
    [InlineData("$.input[\"a]")]
    public void TryParse_BadPath_SaysWhatIsWrong(string path)
    {
        Assert.False(InputReference.TryParse(new JsonObject { ["from"] = path }, out _, out var error));
        Assert.Contains(path, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryResolveFrom_FollowsMembersAndIndexes_AndTreatsNullAsMissing()
    {
        var data = JsonNode.Parse("""{ "a": { "b": [10, 20], "n": null } }""");
        Assert.True(Parse("$.input.a.b[1]").TryResolveFrom(data, 1, out var value));
        Assert.Equal(20, (int)value!);
        Assert.False(Parse("$.input.a.b[2]").TryResolveFrom(data, 1, out _));
        Assert.False(Parse("$.input.a.n").TryResolveFrom(data, 1, out _));
        Assert.False(Parse("$.input.a.missing.deeper").TryResolveFrom(data, 1, out _));
        Assert.False(Parse("$.input.a.b.c").TryResolveFrom(data, 1, out _));
    }

    [Fact]
    public void ToJson_RoundTripsTheDefault()
    {
        var written = JsonNode.Parse("""{ "from": "$.input.a", "default": { "x": [1] } }""");
        Assert.True(InputReference.TryParse(written, out var reference, out _));
        Assert.True(JsonNode.DeepEquals(written, reference!.ToJson()));
    }

    private static InputReference Parse(string path) =>
        InputReference.TryParse(new JsonObject { ["from"] = path }, out var r, out var e) ? r! : throw new InvalidOperationException(e);
}
