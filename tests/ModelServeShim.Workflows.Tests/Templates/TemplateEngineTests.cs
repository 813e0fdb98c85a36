using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Tests.Templates;

public class TemplateEngineTests
{
    private static readonly TemplateEngine Engine = new();

    private static TemplateScope Scope() => new()
    {
        Input = new JsonObject { ["modelFile"] = "/models/llama", ["replicas"] = 2 },
        Steps = new Dictionary<string, StepResult>
        {
            ["model-validation"] = new("Done", new JsonObject { ["format"] = "gguf", ["facts"] = new JsonObject { ["layers"] = 32 } }),
        },
        InstanceId = "i-1",
        Operator = "alice",
    };

    private static async Task<JsonNode?> EvalAsync(string text)
    {
        Assert.True(TemplateEngine.TryParse(text, out var template, out var error), error);
        return await Engine.EvaluateAsync(template!, Scope());
    }

    [Fact]
    public async Task Evaluate_InputReference_ReturnsValue()
    {
        Assert.Equal("/models/llama", (await EvalAsync("{{ input.modelFile }}"))!.GetValue<string>());
    }

    [Fact]
    public async Task Evaluate_SingleExpression_KeepsJsonType()
    {
        Assert.Equal(2, (await EvalAsync("{{ input.replicas }}"))!.GetValue<long>());
        var facts = await EvalAsync("{{ steps[\"model-validation\"].output.facts }}");
        Assert.Equal(32, facts!["layers"]!.GetValue<long>());
    }

    [Fact]
    public async Task Evaluate_MixedText_RendersStringWithoutHtmlEncoding()
    {
        var value = await EvalAsync("format={{ steps[\"model-validation\"].output.format }} <by {{ instance.operator }}>");

        Assert.Equal("format=gguf <by alice>", value!.GetValue<string>());
    }

    [Fact]
    public async Task Evaluate_MissingReference_ThrowsClearError()
    {
        var e = await Assert.ThrowsAsync<TemplateEvaluationException>(() => EvalAsync("{{ input.nothing }}"));

        Assert.Contains("nothing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_CollectsReferencesAndUnknownRoots()
    {
        Assert.True(TemplateEngine.TryParse("{% assign x = 1 %}{{ x }} {{ steps[\"a\"].output.y }} {{ input.b }} {{ secrets.key }}", out var t, out _));

        Assert.Contains(new TemplateReference("steps", "a"), t!.References);
        Assert.Contains(new TemplateReference("input", "b"), t.References);
        Assert.Equal(["secrets"], t.UnknownRoots);
    }

    [Fact]
    public async Task Evaluate_RunawayLoop_IsStoppedByStepLimit()
    {
        var e = await Assert.ThrowsAsync<TemplateEvaluationException>(() => EvalAsync("{% for i in (1..100000000) %}x{% endfor %}"));

        Assert.NotNull(e.InnerException);
    }
}
