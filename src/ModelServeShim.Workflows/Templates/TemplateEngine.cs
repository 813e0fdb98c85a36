using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace ModelServeShim.Workflows.Templates;

/// <summary>
/// Evaluates step inputs written as Liquid templates (Fluid), e.g. <c>{{ input.modelFile }}</c> or
/// <c>{{ steps["model-validation"].output.format }}</c>. Templates see only plain data (the instance
/// input, earlier steps' outputs and outcomes, and instance facts): no .NET members are reachable, the
/// number of steps is bounded, and undefined variables are errors rather than empty strings.
/// </summary>
public sealed class TemplateEngine
{
    /// <summary>The variables a template may use at its root.</summary>
    public static readonly IReadOnlyList<string> Roots = ["input", "steps", "instance"];

    private static readonly FluidParser Parser = new();
    private readonly TemplateOptions _options;

    /// <summary>Creates the engine.</summary>
    public TemplateEngine()
    {
        _options = new TemplateOptions
        {
            StrictVariables = true,
            MaxSteps = 10_000,
            MaxRecursion = 16,
        };
    }

    /// <summary>Whether a string contains template syntax.</summary>
    public static bool IsTemplate(string text) =>
        text.Contains("{{", StringComparison.Ordinal) || text.Contains("{%", StringComparison.Ordinal);

    /// <summary>Parses a template and lists what it refers to.</summary>
    public static bool TryParse(string text, out ParsedTemplate? template, out string? error)
    {
        if (!Parser.TryParse(text, out var fluid, out error))
        {
            template = null;
            return false;
        }

        var analyzer = new ReferenceCollector();
        analyzer.VisitTemplate(fluid);
        Expression? single = null;
        if (fluid is Fluid.Parser.FluidTemplate ft)
        {
            var meaningful = ft.Statements
                .Where(s => s is not TextSpanStatement t || !string.IsNullOrWhiteSpace(t.Text.ToString()))
                .ToList();
            if (meaningful is [OutputStatement o] && ft.Statements.Count == 1)
            {
                single = o.Expression;
            }
        }

        template = new ParsedTemplate(text, fluid, single, analyzer.References, analyzer.UnknownRoots);
        error = null;
        return true;
    }

    /// <summary>
    /// Evaluates a template. A template that is exactly one <c>{{ expression }}</c> keeps the value's
    /// JSON type (number, object, …); anything else renders to a string.
    /// </summary>
    /// <exception cref="TemplateEvaluationException">A reference is missing or evaluation failed.</exception>
    public async ValueTask<JsonNode?> EvaluateAsync(ParsedTemplate template, TemplateScope scope)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(scope);
        var context = new TemplateContext(_options);
        context.SetValue("input", ToPlain(scope.Input));
        context.SetValue("steps", scope.Steps.ToDictionary(
            kv => kv.Key,
            kv => (object?)new Dictionary<string, object?>
            {
                ["output"] = ToPlain(kv.Value.Output),
                ["outcome"] = kv.Value.Outcome,
            }));
        context.SetValue("instance", new Dictionary<string, object?>
        {
            ["id"] = scope.InstanceId,
            ["correlationId"] = scope.CorrelationId,
            ["operator"] = scope.Operator,
        });

        try
        {
            if (template.SingleExpression is { } expression)
            {
                var value = await expression.EvaluateAsync(context);
                return ToJson(value, context);
            }

            return JsonValue.Create(await template.Template.RenderAsync(context));
        }
        catch (FluidException e)
        {
            throw new TemplateEvaluationException($"Template '{template.Text}' failed: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new TemplateEvaluationException($"Template '{template.Text}' failed: {e.Message}", e);
        }
    }

    private static object? ToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToPlain(kv.Value)),
        JsonArray a => a.Select(ToPlain).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                ? l
                : double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
            _ => null,
        },
        _ => null,
    };

    private static JsonNode? ToJson(FluidValue value, TemplateContext context)
    {
        switch (value.Type)
        {
            case FluidValues.Nil:
                return null;
            case FluidValues.String:
                return JsonValue.Create(value.ToStringValue());
            case FluidValues.Boolean:
                return JsonValue.Create(value.ToBooleanValue());
            case FluidValues.Number:
                var d = value.ToNumberValue();
                return decimal.Truncate(d) == d && d is >= long.MinValue and <= long.MaxValue
                    ? JsonValue.Create((long)d)
                    : JsonValue.Create((double)d);
            case FluidValues.Array:
                var array = new JsonArray();
                foreach (var item in value.Enumerate(context))
                {
                    array.Add(ToJson(item, context));
                }

                return array;
            default:
                if (value.ToObjectValue() is IFluidIndexable indexable)
                {
                    var obj = new JsonObject();
                    foreach (var key in indexable.Keys)
                    {
                        obj[key] = indexable.TryGetValue(key, out var item) ? ToJson(item, context) : null;
                    }

                    return obj;
                }

                return FromPlain(value.ToObjectValue());
        }
    }

    private static JsonNode? FromPlain(object? value) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        IDictionary<string, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, FromPlain(kv.Value)))),
        IEnumerable<object?> e when value is not string => new JsonArray([.. e.Select(FromPlain)]),
        _ => JsonSerializer.SerializeToNode(value),
    };

    private sealed class ReferenceCollector : AstVisitor
    {
        private readonly HashSet<string> _locals = new(StringComparer.Ordinal);

        public List<TemplateReference> References { get; } = [];

        public List<string> UnknownRoots { get; } = [];

        protected override Statement VisitAssignStatement(AssignStatement assignStatement)
        {
            _locals.Add(assignStatement.Identifier);
            return base.VisitAssignStatement(assignStatement);
        }

        protected override Statement VisitForStatement(ForStatement forStatement)
        {
            _locals.Add(forStatement.Identifier);
            _locals.Add("forloop");
            return base.VisitForStatement(forStatement);
        }

        protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
        {
            _locals.Add(captureStatement.Identifier);
            return base.VisitCaptureStatement(captureStatement);
        }

        protected override Expression VisitMemberExpression(MemberExpression memberExpression)
        {
            var segments = memberExpression.Segments;
            if (segments.Count > 0 && segments[0] is IdentifierSegment root)
            {
                string? key = (segments.Count > 1 ? segments[1] : null) switch
                {
                    IdentifierSegment id => id.Identifier,
                    IndexerSegment { Expression: LiteralExpression lit } => lit.Value.ToStringValue(),
                    _ => null,
                };
                if (Roots.Contains(root.Identifier))
                {
                    References.Add(new TemplateReference(root.Identifier, key));
                }
                else if (!_locals.Contains(root.Identifier))
                {
                    UnknownRoots.Add(root.Identifier);
                }
            }

            return base.VisitMemberExpression(memberExpression);
        }
    }
}

/// <summary>A parsed template and what it refers to.</summary>
/// <param name="Text">The source text.</param>
/// <param name="Template">The Fluid template.</param>
/// <param name="SingleExpression">The expression when the template is exactly one <c>{{ … }}</c>.</param>
/// <param name="References">Root variables and their first key (e.g. <c>steps</c>, <c>model-validation</c>).</param>
/// <param name="UnknownRoots">Root variables that are neither known nor assigned in the template.</param>
public sealed record ParsedTemplate(
    string Text,
    IFluidTemplate Template,
    Expression? SingleExpression,
    IReadOnlyList<TemplateReference> References,
    IReadOnlyList<string> UnknownRoots);

/// <summary>A reference such as <c>steps["a"]</c> (Root <c>steps</c>, Key <c>a</c>).</summary>
/// <param name="Root">The root variable.</param>
/// <param name="Key">The first member or index, when literal.</param>
public sealed record TemplateReference(string Root, string? Key);

/// <summary>The data a template sees.</summary>
public sealed record TemplateScope
{
    /// <summary>The instance input.</summary>
    public required JsonObject Input { get; init; }

    /// <summary>Completed steps: outcome and output.</summary>
    public required IReadOnlyDictionary<string, StepResult> Steps { get; init; }

    /// <summary>The instance id.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The correlation id.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Who started the instance.</summary>
    public required string Operator { get; init; }
}

/// <summary>How a step ended: the port it fired and its outputs.</summary>
/// <param name="Outcome">The fired port.</param>
/// <param name="Output">The outputs.</param>
public sealed record StepResult(string Outcome, JsonObject Output);

/// <summary>A template could not be evaluated (missing reference, bad filter, step limit).</summary>
public sealed class TemplateEvaluationException(string message, Exception? inner) : Exception(message, inner);
