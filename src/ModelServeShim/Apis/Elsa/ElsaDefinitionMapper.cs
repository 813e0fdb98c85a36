using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis.Elsa;

/// <summary>
/// Maps our workflow definitions to Elsa 3's <c>WorkflowDefinitionModel</c> JSON (what Elsa Studio edits and what an
/// Elsa server exports) and back. One definition, two spellings: nothing is stored in Elsa's shape.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Activities keep their id; our display name is Elsa's <c>metadata.displayText</c>; positions stay in
/// <c>metadata.designer.position</c>; every node gets a <c>nodeId</c> (<c>flowchart:&lt;id&gt;</c>).</item>
/// <item>Inputs are <c>{typeName, expression: {type, value}}</c> under the input's name: a string is <c>Literal</c>
/// (<c>Liquid</c> when it holds a template), a number or boolean a <c>Literal</c> in text, an object or array
/// <c>Object</c> (JSON text), a typed reference <c>Reference</c> (its path, or its JSON when it has a default).
/// Back, <c>Literal</c> text is converted to the input's declared type, <c>Input</c> becomes a reference to the
/// workflow input, and kinds we cannot run (JavaScript, C#, Python, Variable) are refused naming node and input.</item>
/// <item>Retry and timeout are the synthetic inputs of <see cref="ResilienceInputs"/> (tab "Resilience" in Studio).</item>
/// <item>Workflow inputs map to Elsa input definitions; <c>required</c> and <c>default</c>, which Elsa does not
/// have, travel in <c>customProperties.modelServeShim.inputs</c>.</item>
/// </list>
/// </remarks>
public sealed class ElsaDefinitionMapper(ActivityRegistry registry)
{
    /// <summary>The root flowchart's id and node id.</summary>
    public const string RootId = "flowchart";

    /// <summary>Elsa's flowchart type.</summary>
    public const string FlowchartType = "Elsa.Flowchart";

    /// <summary>The expression kind of a typed reference.</summary>
    public const string ReferenceSyntax = "Reference";

    private const string OwnProperties = "modelServeShim";

    /// <summary>The synthetic inputs that carry a step's retry and timeout, by name.</summary>
    public static class ResilienceInputs
    {
        /// <summary>The Studio tab they are shown in.</summary>
        public const string Category = "Resilience";

        /// <summary>Total attempts including the first.</summary>
        public const string MaxAttempts = "retryMaxAttempts";

        /// <summary>The base delay between attempts.</summary>
        public const string Delay = "retryDelay";

        /// <summary>constant, linear or exponential.</summary>
        public const string Backoff = "retryBackoff";

        /// <summary>The largest delay.</summary>
        public const string MaxDelay = "retryMaxDelay";

        /// <summary>Randomised delays.</summary>
        public const string Jitter = "retryJitter";

        /// <summary>The timeout of each attempt.</summary>
        public const string Timeout = "stepTimeout";

        /// <summary>All of them.</summary>
        public static readonly IReadOnlyList<string> All = [MaxAttempts, Delay, Backoff, MaxDelay, Jitter, Timeout];
    }

    private static readonly HashSet<string> UnsupportedSyntaxes = new(StringComparer.OrdinalIgnoreCase)
    {
        "JavaScript", "CSharp", "C#", "Python", "Variable", "Output",
    };

    /// <summary>Members of an Elsa activity that are not inputs; an input of ours with one of these names is renamed.</summary>
    private static readonly HashSet<string> ActivityMembers = new(StringComparer.Ordinal)
    {
        "id", "nodeId", "name", "type", "version", "customProperties", "metadata", "canStartWorkflow", "runAsynchronously", "activities", "connections",
    };

    /// <summary>
    /// The property an input is stored under on an Elsa activity: its own name, or <c>&lt;name&gt;Input</c> when that
    /// is one of the activity's own members (e.g. the quantization step's <c>type</c>).
    /// </summary>
    public static string ElsaInputName(string input) => ActivityMembers.Contains(input) ? input + "Input" : input;

    private static string OurInputName(string property) =>
        property.EndsWith("Input", StringComparison.Ordinal) && ActivityMembers.Contains(property[..^"Input".Length]) ? property[..^"Input".Length] : property;

    /// <summary>The node id of an activity of the root flowchart.</summary>
    public static string NodeId(string activityId) => $"{RootId}:{activityId}";

    /// <summary>Elsa's version id of a definition version (<c>definitionId:version</c>).</summary>
    public static string VersionId(string definitionId, int version) => $"{definitionId}:{version.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Splits an Elsa version id into definition id and version.</summary>
    public static bool TryParseVersionId(string id, out string definitionId, out int version)
    {
        ArgumentNullException.ThrowIfNull(id);
        var colon = id.LastIndexOf(':');
        definitionId = colon > 0 ? id[..colon] : "";
        version = 0;
        return colon > 0 && int.TryParse(id.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    /// <summary>The Elsa type alias of one of our input kinds.</summary>
    public static string TypeName(string? kind) => kind switch
    {
        "integer" => "Int32",
        "number" => "Double",
        "boolean" => "Boolean",
        "object" or "array" or "any" => "Object",
        _ => "String",
    };

    /// <summary>
    /// The definition as an Elsa <c>WorkflowDefinitionModel</c>. <paramref name="record"/> gives the stored version's
    /// facts (version, creation time, latest); without it the definition is described as unsaved.
    /// </summary>
    public JsonObject ToModel(WorkflowDefinition definition, DefinitionRecord? record)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var version = record?.Version ?? definition.Version ?? 1;
        var own = new JsonObject();
        foreach (var input in definition.Inputs)
        {
            var facts = new JsonObject { ["type"] = input.Type, ["required"] = input.Required };
            if (input.Default is not null)
            {
                facts["default"] = input.Default.DeepClone();
            }

            own[input.Name] = facts;
        }

        return new JsonObject
        {
            ["id"] = VersionId(definition.DefinitionId, version),
            ["definitionId"] = definition.DefinitionId,
            ["name"] = definition.Name ?? definition.DefinitionId,
            ["description"] = definition.Description,
            ["createdAt"] = (record?.CreatedAt ?? DateTimeOffset.UnixEpoch).ToString("O", CultureInfo.InvariantCulture),
            ["version"] = version,
            ["toolVersion"] = "3.8.0",
            ["variables"] = new JsonArray(),
            ["inputs"] = new JsonArray([.. definition.Inputs.Select(ToInputDefinition)]),
            ["outputs"] = new JsonArray(),
            ["outcomes"] = new JsonArray(),
            ["customProperties"] = new JsonObject { [OwnProperties] = new JsonObject { ["inputs"] = own } },
            ["isReadonly"] = false,
            ["isSystem"] = false,
            ["isLatest"] = record?.IsLatest ?? true,
            ["isPublished"] = record is not null,
            ["options"] = new JsonObject { ["autoUpdateConsumingWorkflows"] = false, ["usableAsActivity"] = false },
            ["root"] = ToRoot(definition.Root ?? new FlowchartDefinition()),
        };
    }

    /// <summary>
    /// Reads an Elsa <c>WorkflowDefinitionModel</c> (from Studio's save or an Elsa export) as our definition. Problems
    /// are returned with their JSON path and node; a definition is returned only when there are none. The result still
    /// has to pass <see cref="WorkflowValidator"/>.
    /// </summary>
    public WorkflowDefinition? FromModel(JsonObject model, out IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<ValidationError>();
        errors = problems;
        var definitionId = String(model["definitionId"]) ?? "";
        var own = Member(Member(model["customProperties"], OwnProperties), "inputs") as JsonObject;
        var inputs = new List<WorkflowInputDefinition>();
        if (model["inputs"] is JsonArray elsaInputs)
        {
            for (var i = 0; i < elsaInputs.Count; i++)
            {
                if (elsaInputs[i] is not JsonObject input || String(input["name"]) is not { Length: > 0 } name)
                {
                    problems.Add(new ValidationError($"$.inputs[{i}].name", "Each workflow input needs a name."));
                    continue;
                }

                var facts = own?[name] as JsonObject;
                var aliasKind = KindOf(String(input["type"]));
                var kind = String(facts?["type"]) is { } ownKind && TypeName(ownKind) == TypeName(aliasKind) ? ownKind : aliasKind;
                inputs.Add(new WorkflowInputDefinition
                {
                    Name = name,
                    Type = kind,
                    Required = facts?["required"] is JsonValue r && r.GetValueKind() == JsonValueKind.True,
                    Default = facts?["default"]?.DeepClone(),
                    Description = String(input["description"]) is { Length: > 0 } d ? d : null,
                });
            }
        }

        FlowchartDefinition? root = null;
        if (model["root"] is not JsonObject elsaRoot)
        {
            problems.Add(new ValidationError("$.root", $"The root must be an {FlowchartType} activity."));
        }
        else if (String(elsaRoot["type"]) is not (FlowchartType or "Flowchart"))
        {
            problems.Add(new ValidationError("$.root.type", $"The root is '{String(elsaRoot["type"])}'; only {FlowchartType} roots can run here."));
        }
        else
        {
            root = FromRoot(elsaRoot, problems);
        }

        if (problems.Count > 0)
        {
            return null;
        }

        return new WorkflowDefinition
        {
            DefinitionId = definitionId,
            Name = String(model["name"]) is { Length: > 0 } n && n != definitionId ? n : null,
            Description = String(model["description"]) is { Length: > 0 } description ? description : null,
            Inputs = inputs,
            Root = root,
        };
    }

    private static JsonObject ToInputDefinition(WorkflowInputDefinition input) => new()
    {
        ["type"] = TypeName(input.Type),
        ["name"] = input.Name,
        ["displayName"] = input.Name,
        ["description"] = input.Description,
        ["category"] = "",
        ["uiHint"] = input.Type == "boolean" ? "checkbox" : "singleline",
        ["isArray"] = false,
    };

    private JsonObject ToRoot(FlowchartDefinition flowchart) => new()
    {
        ["type"] = FlowchartType,
        ["version"] = 1,
        ["id"] = RootId,
        ["nodeId"] = RootId,
        ["name"] = "Flowchart1",
        ["customProperties"] = new JsonObject(),
        ["metadata"] = new JsonObject(),
        ["activities"] = new JsonArray([.. flowchart.Activities.Select(ToActivity)]),
        ["connections"] = new JsonArray([.. flowchart.Connections.Select(c => (JsonNode)new JsonObject
        {
            ["source"] = new JsonObject { ["activity"] = c.Source?.Activity, ["port"] = c.Source?.Port ?? "Done" },
            ["target"] = new JsonObject { ["activity"] = c.Target?.Activity, ["port"] = c.Target?.Port ?? "In" },
            ["vertices"] = new JsonArray(),
        })]),
    };

    private JsonObject ToActivity(ActivityDefinition activity)
    {
        registry.TryGet(activity.Type, out var descriptor);
        var metadata = activity.Metadata?.DeepClone().AsObject() ?? [];
        if (activity.DisplayName is not null)
        {
            metadata["displayText"] = activity.DisplayName;
        }

        var o = new JsonObject
        {
            ["id"] = activity.Id,
            ["nodeId"] = NodeId(activity.Id),
            ["name"] = activity.Id,
            ["type"] = activity.Type,
            ["version"] = activity.Version ?? descriptor?.Version ?? 1,
            ["customProperties"] = new JsonObject { ["canStartWorkflow"] = false, ["runAsynchronously"] = false },
            ["metadata"] = metadata,
        };
        if (activity.Version is null)
        {
            // Ours: absent means "the latest"; kept so that the round trip does not pin a version.
            o["customProperties"]!["versionUnpinned"] = true;
        }

        foreach (var (name, value) in activity.Inputs)
        {
            var kind = descriptor?.Inputs.FirstOrDefault(i => i.Name == name)?.Type;
            o[ElsaInputName(name)] = ToInput(kind, value);
        }

        if (activity.Retry is { } retry)
        {
            o[ResilienceInputs.MaxAttempts] = ToInput("integer", retry.MaxAttempts);
            o[ResilienceInputs.Backoff] = ToInput("string", retry.Backoff);
            o[ResilienceInputs.Jitter] = ToInput("boolean", retry.Jitter);
            if (retry.Delay is not null)
            {
                o[ResilienceInputs.Delay] = ToInput("string", retry.Delay);
            }

            if (retry.MaxDelay is not null)
            {
                o[ResilienceInputs.MaxDelay] = ToInput("string", retry.MaxDelay);
            }
        }

        if (activity.Timeout is not null)
        {
            o[ResilienceInputs.Timeout] = ToInput("string", activity.Timeout);
        }

        return o;
    }

    /// <summary>One input value as Elsa's wrapped input.</summary>
    public static JsonObject ToInput(string? kind, JsonNode? value)
    {
        string syntax;
        JsonNode? text;
        if (InputReference.IsReference(value))
        {
            syntax = ReferenceSyntax;
            var o = value!.AsObject();
            text = o.Count == 1 ? o["from"]?.DeepClone() : o.ToJsonString();
        }
        else if (value is JsonObject or JsonArray)
        {
            syntax = "Object";
            text = value.ToJsonString();
        }
        else if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            var s = v.GetValue<string>();
            syntax = s.Contains("{{", StringComparison.Ordinal) || s.Contains("{%", StringComparison.Ordinal) ? "Liquid" : "Literal";
            text = s;
        }
        else
        {
            // Numbers and booleans stay JSON values (Studio shows them as text and sends text back, which is
            // converted by the input's declared type); an input of any type keeps its JSON type this way.
            syntax = "Literal";
            text = value?.DeepClone();
        }

        kind ??= value switch
        {
            JsonObject or JsonArray => "object",
            JsonValue n when n.GetValueKind() == JsonValueKind.Number => "number",
            JsonValue b when b.GetValueKind() is JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "string",
        };
        return new JsonObject { ["typeName"] = TypeName(kind), ["expression"] = new JsonObject { ["type"] = syntax, ["value"] = text } };
    }

    private FlowchartDefinition FromRoot(JsonObject root, List<ValidationError> problems)
    {
        var activities = new List<ActivityDefinition>();
        if (root["activities"] is JsonArray elsaActivities)
        {
            for (var i = 0; i < elsaActivities.Count; i++)
            {
                if (elsaActivities[i] is JsonObject a)
                {
                    activities.Add(FromActivity(a, $"$.root.activities[{i}]", problems));
                }
                else
                {
                    problems.Add(new ValidationError($"$.root.activities[{i}]", "Each activity must be an object."));
                }
            }
        }

        var connections = new List<ConnectionDefinition>();
        if (root["connections"] is JsonArray elsaConnections)
        {
            foreach (var c in elsaConnections.OfType<JsonObject>())
            {
                // Elsa 3.1+: {source: {activity, port}, target: {activity, port}}; 3.0: {source, sourcePort, target, targetPort}.
                var (source, sourcePort) = c["source"] is JsonObject s ? (String(s["activity"]), String(s["port"])) : (String(c["source"]), String(c["sourcePort"]));
                var (target, targetPort) = c["target"] is JsonObject t ? (String(t["activity"]), String(t["port"])) : (String(c["target"]), String(c["targetPort"]));
                connections.Add(new ConnectionDefinition
                {
                    Source = new Workflows.Definitions.Endpoint { Activity = source ?? "", Port = sourcePort ?? "Done" },
                    Target = new Workflows.Definitions.Endpoint { Activity = target ?? "", Port = targetPort is null or "In" ? null : targetPort },
                });
            }
        }

        return new FlowchartDefinition { Activities = activities, Connections = connections };
    }

    private ActivityDefinition FromActivity(JsonObject a, string path, List<ValidationError> problems)
    {
        var id = String(a["id"]) ?? "";
        var type = String(a["type"]) ?? "";
        registry.TryGet(type, out var descriptor);
        var inputs = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var resilience = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (property, node) in a)
        {
            if (node is not JsonObject wrapped || !wrapped.ContainsKey("expression"))
            {
                continue;
            }

            var name = OurInputName(property);
            var isResilience = ResilienceInputs.All.Contains(name);
            var kind = isResilience
                ? name switch { ResilienceInputs.MaxAttempts => "integer", ResilienceInputs.Jitter => "boolean", _ => "string" }
                : descriptor?.Inputs.FirstOrDefault(i => i.Name == name)?.Type;
            if (!TryFromInput(kind, wrapped, out var value, out var error))
            {
                problems.Add(new ValidationError($"{path}.{property}", $"Node '{id}', input '{name}': {error}", id));
                continue;
            }

            if (value is null)
            {
                continue;
            }

            if (isResilience && !Fits(name, value))
            {
                problems.Add(new ValidationError($"{path}.{property}", name == ResilienceInputs.MaxAttempts
                    ? $"Node '{id}', input '{name}': the number of attempts must be a whole number from 1 to 100."
                    : $"Node '{id}', input '{name}': expected {(name == ResilienceInputs.Jitter ? "true or false" : "text such as 30s")}.", id));
                continue;
            }

            (isResilience ? resilience : inputs)[name] = value;
        }

        var metadata = a["metadata"]?.DeepClone() as JsonObject ?? [];
        var displayName = String(metadata["displayText"]);
        metadata.Remove("displayText");
        var versionUnpinned = Member(a["customProperties"], "versionUnpinned") is JsonValue u && u.GetValueKind() == JsonValueKind.True;
        int? version = versionUnpinned ? null : a["version"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
        return new ActivityDefinition
        {
            Id = id,
            Type = type,
            Version = version,
            DisplayName = displayName,
            Inputs = inputs,
            Retry = FromResilience(resilience),
            Timeout = String(resilience.GetValueOrDefault(ResilienceInputs.Timeout)) is { Length: > 0 } timeout ? timeout : null,
            Metadata = metadata.Count > 0 ? metadata : null,
        };
    }

    private static bool Fits(string resilienceInput, JsonNode value) => resilienceInput switch
    {
        ResilienceInputs.MaxAttempts => value is JsonValue v && v.TryGetValue<long>(out var n) && n is >= 1 and <= 100,
        ResilienceInputs.Jitter => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        _ => value is JsonValue v && v.GetValueKind() == JsonValueKind.String,
    };

    private static RetryDefinition? FromResilience(Dictionary<string, JsonNode?> r)
    {
        var any = r.Keys.Any(k => k != ResilienceInputs.Timeout);
        if (!any)
        {
            return null;
        }

        var retry = new RetryDefinition
        {
            Delay = String(r.GetValueOrDefault(ResilienceInputs.Delay)) is { Length: > 0 } d ? d : null,
            MaxDelay = String(r.GetValueOrDefault(ResilienceInputs.MaxDelay)) is { Length: > 0 } m ? m : null,
            Jitter = r.GetValueOrDefault(ResilienceInputs.Jitter) is JsonValue j && j.GetValueKind() == JsonValueKind.True,
        };
        if (r.GetValueOrDefault(ResilienceInputs.MaxAttempts) is JsonValue attempts && attempts.TryGetValue<long>(out var count))
        {
            retry = retry with { MaxAttempts = (int)Math.Clamp(count, int.MinValue, int.MaxValue) };
        }

        if (String(r.GetValueOrDefault(ResilienceInputs.Backoff)) is { Length: > 0 } backoff)
        {
            retry = retry with { Backoff = backoff };
        }

        return retry;
    }

    /// <summary>
    /// One Elsa wrapped input as our value: null when it is empty (the activity's default applies); false with the
    /// reason when its expression kind cannot run here or its value cannot be read.
    /// </summary>
    public static bool TryFromInput(string? kind, JsonObject wrapped, out JsonNode? value, out string? error)
    {
        ArgumentNullException.ThrowIfNull(wrapped);
        value = null;
        error = null;
        var expression = wrapped["expression"] as JsonObject;
        var syntax = String(expression?["type"]) ?? "Literal";
        var raw = expression?["value"];
        if (UnsupportedSyntaxes.Contains(syntax))
        {
            error = $"the expression kind '{syntax}' cannot run here; use Literal, Object, Liquid, Input or {ReferenceSyntax} ($.input.…, $.steps.<id>.output.…).";
            return false;
        }

        if (raw is null)
        {
            return true;
        }

        var text = raw is JsonValue rv && rv.GetValueKind() == JsonValueKind.String ? rv.GetValue<string>() : null;
        switch (syntax)
        {
            case "Literal":
                value = text is null ? raw.DeepClone() : FromLiteralText(kind, text);
                return true;
            case "Liquid":
                value = text is null ? raw.DeepClone() : JsonValue.Create(text);
                return true;
            case "Object" or "Json":
                if (text is null)
                {
                    value = raw.DeepClone();
                    return true;
                }

                if (text.Length == 0)
                {
                    return true;
                }

                try
                {
                    value = JsonNode.Parse(text);
                    return true;
                }
                catch (JsonException e)
                {
                    error = $"the Object expression is not valid JSON ({e.Message}).";
                    return false;
                }

            case "Input":
                if (string.IsNullOrEmpty(text))
                {
                    return true;
                }

                value = new JsonObject { ["from"] = $"$.input.{text}" };
                return true;
            case ReferenceSyntax:
                if (string.IsNullOrEmpty(text))
                {
                    return true;
                }

                JsonNode? candidate;
                try
                {
                    candidate = text.TrimStart().StartsWith('{') ? JsonNode.Parse(text) : new JsonObject { ["from"] = text };
                }
                catch (JsonException e)
                {
                    error = $"the reference is not valid JSON ({e.Message}); write a path such as $.input.modelFile.";
                    return false;
                }

                if (!InputReference.TryParse(candidate, out _, out var referenceError))
                {
                    error = referenceError;
                    return false;
                }

                value = candidate;
                return true;
            default:
                error = $"the expression kind '{syntax}' is unknown here; use Literal, Object, Liquid, Input or {ReferenceSyntax}.";
                return false;
        }
    }

    /// <summary>Literal text converted to the declared kind; kept as text when it does not convert (the validator names it).</summary>
    private static JsonNode? FromLiteralText(string? kind, string text)
    {
        var trimmed = text.Trim();
        switch (kind)
        {
            case "integer" when long.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l):
                return JsonValue.Create(l);
            case "number" when double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var d):
                return JsonValue.Create(d);
            case "boolean" when bool.TryParse(trimmed, out var b):
                return JsonValue.Create(b);
            case "integer" or "number" or "boolean" when trimmed.Length == 0:
                return null;
            case "object" or "array" or "any" when trimmed.StartsWith('{') || trimmed.StartsWith('['):
                try
                {
                    return JsonNode.Parse(trimmed);
                }
                catch (JsonException)
                {
                    return JsonValue.Create(text);
                }

            case "object" or "array" when trimmed.Length == 0:
                return null;
            default:
                return JsonValue.Create(text);
        }
    }

    private static string KindOf(string? typeName) => typeName switch
    {
        "Int32" or "Int64" or "Int16" => "integer",
        "Double" or "Single" or "Decimal" => "number",
        "Boolean" => "boolean",
        "Object" or "JsonElement" or "ExpandoObject" or "JsonObject" => "object",
        "Object[]" or "String[]" or "JsonArray" => "array",
        "TimeSpan" => "duration",
        _ => "string",
    };

    /// <summary>A member of an object; null when <paramref name="node"/> is not an object (a wrong type is not a crash).</summary>
    internal static JsonNode? Member(JsonNode? node, string name) => node is JsonObject o && o.TryGetPropertyValue(name, out var value) ? value : null;

    /// <summary>JSON parsing options for Elsa documents: duplicate members are an error, as in our own format.</summary>
    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false };

    private static string? String(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
