using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Activities;
using static ModelServeShim.Apis.Elsa.ElsaDefinitionMapper;

namespace ModelServeShim.Apis.Elsa;

/// <summary>Our activity descriptors as Elsa 3 activity descriptors, and the expression kinds we run.</summary>
public static class ElsaDescriptorMapper
{
    /// <summary>Elsa's activity descriptor of one of our activity types.</summary>
    public static JsonObject ToDescriptor(ActivityDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var dot = descriptor.Type.LastIndexOf('.');
        var inputs = new JsonArray();
        var order = 0;
        foreach (var input in descriptor.Inputs)
        {
            inputs.Add(Input(ElsaInputName(input.Name), TypeName(input.Type), Humanize(input.Name), input.Description, order++, UiHint(input), Options(input),
                "Inputs", input.Default?.DeepClone()));
        }

        foreach (var (name, kind, display, description, hint, options) in Resilience())
        {
            inputs.Add(Input(name, TypeName(kind), display, description, order++, hint, options, ResilienceInputs.Category, null));
        }

        return new JsonObject
        {
            ["typeName"] = descriptor.Type,
            ["namespace"] = dot > 0 ? descriptor.Type[..dot] : "",
            ["name"] = dot > 0 ? descriptor.Type[(dot + 1)..] : descriptor.Type,
            ["version"] = descriptor.Version,
            ["category"] = descriptor.Category,
            ["displayName"] = descriptor.DisplayName,
            ["description"] = descriptor.Description,
            ["inputs"] = inputs,
            ["outputs"] = new JsonArray([.. descriptor.Outputs.Select(o => (JsonNode)new JsonObject
            {
                ["name"] = o.Name,
                ["typeName"] = TypeName(o.Type),
                ["displayName"] = Humanize(o.Name),
                ["description"] = o.Description,
                ["order"] = 0,
                ["isBrowsable"] = true,
                ["isSynthetic"] = false,
            })]),
            ["kind"] = "Task",
            ["ports"] = new JsonArray([.. descriptor.Outcomes.Select(Port)]),
            ["customProperties"] = new JsonObject { ["source"] = descriptor.Source },
            ["constructionProperties"] = new JsonObject(),
            ["isContainer"] = false,
            ["isBrowsable"] = true,
            ["isStart"] = false,
            ["isTerminal"] = false,
            ["attributes"] = new JsonArray(),
        };
    }

    /// <summary>The flowchart container that every definition's root is.</summary>
    public static JsonObject Flowchart() => new()
    {
        ["typeName"] = FlowchartType,
        ["namespace"] = "Elsa",
        ["name"] = "Flowchart",
        ["version"] = 1,
        ["category"] = "Flow",
        ["displayName"] = "Flowchart",
        ["description"] = "A flowchart of steps connected by their outcome ports.",
        ["inputs"] = new JsonArray(),
        ["outputs"] = new JsonArray(),
        ["kind"] = "Action",
        ["ports"] = new JsonArray(),
        ["customProperties"] = new JsonObject(),
        ["constructionProperties"] = new JsonObject(),
        ["isContainer"] = true,
        ["isBrowsable"] = false,
        ["isStart"] = false,
        ["isTerminal"] = false,
        ["attributes"] = new JsonArray(),
    };

    /// <summary>The expression kinds Studio may offer: those we run, and our typed reference.</summary>
    public static IReadOnlyList<JsonObject> ExpressionDescriptors() =>
    [
        Expression("Literal", "Literal", null),
        Expression("Object", "Object", "json"),
        Expression("Liquid", "Liquid", "liquid"),
        Expression(ReferenceSyntax, "Reference ($.input…, $.steps…)", "plaintext"),
        Expression("Input", "Workflow input", "plaintext"),
    ];

    private static JsonObject Expression(string type, string displayName, string? monacoLanguage)
    {
        var properties = new JsonObject();
        if (monacoLanguage is not null)
        {
            properties["MonacoLanguage"] = monacoLanguage;
        }

        return new JsonObject
        {
            ["type"] = type,
            ["displayName"] = displayName,
            ["isSerializable"] = true,
            ["isBrowsable"] = true,
            ["properties"] = properties,
        };
    }

    private static JsonObject Input(string name, string typeName, string displayName, string? description, int order, string uiHint, JsonNode? options, string category, JsonNode? defaultValue) => new()
    {
        ["name"] = name,
        ["typeName"] = typeName,
        ["displayName"] = displayName,
        ["description"] = description,
        ["order"] = order,
        ["isBrowsable"] = true,
        ["isSynthetic"] = category == ResilienceInputs.Category,
        ["isWrapped"] = true,
        ["uiHint"] = uiHint,
        ["options"] = options,
        ["category"] = category,
        ["defaultValue"] = defaultValue,
        ["defaultSyntax"] = "Literal",
        ["isReadOnly"] = false,
        ["isSensitive"] = false,
    };

    private static JsonNode Port(string outcome) => new JsonObject
    {
        ["name"] = outcome,
        ["displayName"] = outcome,
        ["type"] = "Flow",
        ["isBrowsable"] = true,
    };

    private static string UiHint(InputDescriptor input) => input.Type switch
    {
        "boolean" => "checkbox",
        "enum" => "dropdown",
        "object" or "array" or "any" => "multiline",
        _ => input.UiHint == "multiline" ? "multiline" : "singleline",
    };

    private static JsonNode? Options(InputDescriptor input) => input.Options is { } values
        ? new JsonObject
        {
            ["items"] = new JsonArray([.. values.Select(v => (JsonNode)new JsonObject { ["text"] = v, ["value"] = v })]),
            ["isFlagsEnum"] = false,
        }
        : null;

    private static IEnumerable<(string Name, string Kind, string Display, string Description, string Hint, JsonNode? Options)> Resilience()
    {
        yield return (ResilienceInputs.MaxAttempts, "integer", "Retry: max attempts", "Total attempts including the first (1 to 100); empty: one attempt.", "singleline", null);
        yield return (ResilienceInputs.Delay, "string", "Retry: delay", "The base delay between attempts, e.g. 2s.", "singleline", null);
        yield return (ResilienceInputs.Backoff, "string", "Retry: backoff", "How the delay grows between attempts.", "dropdown", new JsonObject
        {
            ["items"] = new JsonArray([.. new[] { "constant", "linear", "exponential" }.Select(v => (JsonNode)new JsonObject { ["text"] = v, ["value"] = v })]),
            ["isFlagsEnum"] = false,
        });
        yield return (ResilienceInputs.MaxDelay, "string", "Retry: max delay", "The largest delay, e.g. 1m.", "singleline", null);
        yield return (ResilienceInputs.Jitter, "boolean", "Retry: jitter", "Randomise the delays.", "checkbox", null);
        yield return (ResilienceInputs.Timeout, "string", "Timeout", "The timeout of each attempt, e.g. 30s, 5m; empty: none.", "singleline", null);
    }

    private static string Humanize(string name) =>
        name.Length == 0 ? name : string.Concat(name.Select((c, i) => i == 0 ? char.ToUpperInvariant(c).ToString() : char.IsUpper(c) ? " " + c : c.ToString()));
}
