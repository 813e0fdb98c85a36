using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>
/// Checks a definition before it is saved or loaded. Every error names its JSON path and the fix.
/// </summary>
public sealed partial class WorkflowValidator(ActivityRegistry registry)
{
    private static readonly string[] InputKinds = ["string", "integer", "number", "boolean", "object", "array", "duration"];
    private static readonly string[] Backoffs = ["constant", "linear", "exponential"];

    [GeneratedRegex("^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex InputNamePattern();

    /// <summary>Validates a definition; an empty list means it is valid.</summary>
    public IReadOnlyList<ValidationError> Validate(WorkflowDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<ValidationError>();
        if (!IdPattern().IsMatch(definition.DefinitionId))
        {
            errors.Add(new("$.definitionId", $"'{definition.DefinitionId}' is not a valid definitionId: use 1-63 lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit."));
        }

        var declaredInputs = ValidateWorkflowInputs(definition, errors);
        var inputTypes = definition.Inputs.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Type, StringComparer.Ordinal);
        var root = definition.Root;
        if (root is null)
        {
            errors.Add(new("$.root", "The definition has no root: add \"root\": {\"type\": \"Flowchart\", \"activities\": [...], \"connections\": [...]}."));
            return errors;
        }

        if (root.Type != "Flowchart")
        {
            errors.Add(new("$.root.type", $"Root type '{root.Type}' is not supported: use \"Flowchart\"."));
        }

        if (root.Activities.Count == 0)
        {
            errors.Add(new("$.root.activities", "The flowchart has no activities: add at least one."));
            return errors;
        }

        var index = ValidateActivityHeaders(root, errors);
        var graph = ValidateConnections(root, index, errors);
        var ancestors = ValidateShape(root, graph, errors);
        for (var i = 0; i < root.Activities.Count; i++)
        {
            var activity = root.Activities[i];
            var path = $"$.root.activities[{i}]";
            ValidateRetryAndTimeout(activity, path, errors);
            if (registry.TryGet(activity.Type, out var descriptor))
            {
                var scope = new ReferenceScope(inputTypes, ancestors.GetValueOrDefault(activity.Id), index, root, registry);
                ValidateInputs(activity, descriptor, path, scope, errors);
            }
        }

        return errors;
    }

    private static HashSet<string> ValidateWorkflowInputs(WorkflowDefinition definition, List<ValidationError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var k = 0; k < definition.Inputs.Count; k++)
        {
            var input = definition.Inputs[k];
            var path = $"$.inputs[{k}]";
            if (!InputNamePattern().IsMatch(input.Name))
            {
                errors.Add(new($"{path}.name", $"'{input.Name}' is not a valid input name: use letters, digits and '_', starting with a letter."));
            }
            else if (!names.Add(input.Name))
            {
                errors.Add(new($"{path}.name", $"Input '{input.Name}' is declared twice: remove one."));
            }

            if (!InputKinds.Contains(input.Type))
            {
                errors.Add(new($"{path}.type", $"Input type '{input.Type}' is unknown: use one of {string.Join(", ", InputKinds)}."));
            }
            else if (InputTypes.CheckLiteral(input.Type, null, input.Default) is { } problem)
            {
                errors.Add(new($"{path}.default", $"The default of '{input.Name}' does not match its type: {problem}."));
            }
        }

        return names;
    }

    private Dictionary<string, int> ValidateActivityHeaders(FlowchartDefinition root, List<ValidationError> errors)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < root.Activities.Count; i++)
        {
            var a = root.Activities[i];
            var path = $"$.root.activities[{i}]";
            if (!IdPattern().IsMatch(a.Id))
            {
                errors.Add(new($"{path}.id", $"'{a.Id}' is not a valid activity id: use 1-63 lower-case letters, digits, '-', '_' or '.' (e.g. \"model-validation\")."));
            }
            else if (!index.TryAdd(a.Id, i))
            {
                errors.Add(new($"{path}.id", $"Activity id '{a.Id}' is used twice (also at $.root.activities[{index[a.Id]}]): ids must be unique.", a.Id));
            }

            if (!registry.TryGet(a.Type, out var d))
            {
                var known = string.Join(", ", registry.All.Select(x => x.Type));
                errors.Add(new($"{path}.type", $"Unknown activity type '{a.Type}'. Known types: {known}.", a.Id));
            }
            else if (a.Version is { } v && v != d.Version)
            {
                errors.Add(new($"{path}.version", $"Activity type '{a.Type}' version {v} is not available (loaded: version {d.Version}); set \"version\": {d.Version} or omit it.", a.Id));
            }
        }

        return index;
    }

    private Dictionary<string, List<(string Target, int Connection)>> ValidateConnections(
        FlowchartDefinition root, Dictionary<string, int> index, List<ValidationError> errors)
    {
        var outgoing = root.Activities.Select(a => a.Id).Distinct().ToDictionary(id => id, _ => new List<(string, int)>());
        var seen = new Dictionary<(string, string, string), int>();
        for (var j = 0; j < root.Connections.Count; j++)
        {
            var c = root.Connections[j];
            var path = $"$.root.connections[{j}]";
            var ok = true;
            if (c.Source is null || !index.ContainsKey(c.Source.Activity))
            {
                errors.Add(new($"{path}.source.activity", $"Connection source '{c.Source?.Activity}' is not an activity of this flowchart: use one of the activity ids."));
                ok = false;
            }

            if (c.Target is null || !index.ContainsKey(c.Target.Activity))
            {
                errors.Add(new($"{path}.target.activity", $"Connection target '{c.Target?.Activity}' is not an activity of this flowchart: use one of the activity ids."));
                ok = false;
            }

            if (!ok)
            {
                continue;
            }

            var port = c.Source!.Port ?? Outcomes.Done;
            var sourceDef = root.Activities[index[c.Source.Activity]];
            if (registry.TryGet(sourceDef.Type, out var d) && !d.Outcomes.Contains(port))
            {
                errors.Add(new($"{path}.source.port", $"Activity '{sourceDef.Id}' ({d.Type}) has no port '{port}': its ports are {string.Join(", ", d.Outcomes)}.", sourceDef.Id));
                continue;
            }

            if (c.Source.Activity == c.Target!.Activity)
            {
                errors.Add(new(path, $"Connection from '{c.Source.Activity}' to itself makes a loop: loops are not supported; use the step's retry settings to run it again."));
                continue;
            }

            if (seen.TryGetValue((c.Source.Activity, port, c.Target.Activity), out var first))
            {
                errors.Add(new(path, $"Duplicate connection {c.Source.Activity}.{port} → {c.Target.Activity} (same as $.root.connections[{first}]): remove one."));
                continue;
            }

            seen[(c.Source.Activity, port, c.Target.Activity)] = j;
            outgoing[c.Source.Activity].Add((c.Target.Activity, j));
        }

        return outgoing;
    }

    /// <summary>Finds cycles and unreachable activities; returns each activity's ancestors (steps that surely ran before it).</summary>
    private static Dictionary<string, HashSet<string>> ValidateShape(
        FlowchartDefinition root, Dictionary<string, List<(string Target, int Connection)>> outgoing, List<ValidationError> errors)
    {
        var ids = root.Activities.Select(a => a.Id).Where(outgoing.ContainsKey).Distinct().ToList();
        var incoming = ids.ToDictionary(id => id, _ => new List<string>());
        foreach (var (source, targets) in outgoing)
        {
            foreach (var (target, _) in targets)
            {
                incoming[target].Add(source);
            }
        }

        // Cycles: a depth-first search reports each back edge once.
        var state = ids.ToDictionary(id => id, _ => 0);
        var stack = new List<string>();
        var hasCycle = false;
        void Visit(string id)
        {
            state[id] = 1;
            stack.Add(id);
            foreach (var (target, connection) in outgoing[id])
            {
                if (state[target] == 1)
                {
                    var loop = stack.Skip(stack.IndexOf(target)).Append(target);
                    errors.Add(new($"$.root.connections[{connection}]", $"This connection closes a cycle ({string.Join(" → ", loop)}): loops are not supported; remove it or use the step's retry settings.", id));
                    hasCycle = true;
                }
                else if (state[target] == 0)
                {
                    Visit(target);
                }
            }

            stack.RemoveAt(stack.Count - 1);
            state[id] = 2;
        }

        foreach (var id in ids)
        {
            if (state[id] == 0)
            {
                Visit(id);
            }
        }

        var starts = ids.Where(id => incoming[id].Count == 0).ToList();
        if (starts.Count == 0 && !hasCycle)
        {
            errors.Add(new("$.root.connections", "No activity is free of incoming connections, so the flowchart cannot start."));
        }

        for (var s = 1; s < starts.Count; s++)
        {
            var i = root.Activities.ToList().FindIndex(a => a.Id == starts[s]);
            errors.Add(new($"$.root.activities[{i}]", $"Activity '{starts[s]}' is unreachable: it has no incoming connection and the flowchart starts at '{starts[0]}'. Connect it from another step or remove it.", starts[s]));
        }

        if (hasCycle)
        {
            return [];
        }

        // Ancestors along every path: a step may reference steps that precede it on all paths that reach it,
        // or on at least one (we accept "may have run" references on joins and report missing ones at run time).
        var ancestors = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        HashSet<string> Ancestors(string id)
        {
            if (ancestors.TryGetValue(id, out var known))
            {
                return known;
            }

            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in incoming[id])
            {
                set.Add(p);
                set.UnionWith(Ancestors(p));
            }

            ancestors[id] = set;
            return set;
        }

        foreach (var id in ids)
        {
            Ancestors(id);
        }

        return ancestors;
    }

    private static void ValidateRetryAndTimeout(ActivityDefinition a, string path, List<ValidationError> errors)
    {
        if (a.Timeout is not null && (!Durations.TryParse(a.Timeout, out var t) || t <= TimeSpan.Zero))
        {
            errors.Add(new($"{path}.timeout", $"Timeout '{a.Timeout}' is not a positive duration: {Durations.Help}.", a.Id));
        }

        if (a.Retry is not { } r)
        {
            return;
        }

        if (r.MaxAttempts is < 1 or > 100)
        {
            errors.Add(new($"{path}.retry.maxAttempts", $"maxAttempts is {r.MaxAttempts}: use 1 to 100 (1 means no retry).", a.Id));
        }

        if (!Backoffs.Contains(r.Backoff))
        {
            errors.Add(new($"{path}.retry.backoff", $"Backoff '{r.Backoff}' is unknown: use constant, linear or exponential.", a.Id));
        }

        TimeSpan delay = TimeSpan.Zero;
        if (r.Delay is not null && !Durations.TryParse(r.Delay, out delay))
        {
            errors.Add(new($"{path}.retry.delay", $"Delay '{r.Delay}' is not a duration: {Durations.Help}.", a.Id));
        }

        if (r.MaxDelay is not null)
        {
            if (!Durations.TryParse(r.MaxDelay, out var max))
            {
                errors.Add(new($"{path}.retry.maxDelay", $"maxDelay '{r.MaxDelay}' is not a duration: {Durations.Help}.", a.Id));
            }
            else if (max < delay)
            {
                errors.Add(new($"{path}.retry.maxDelay", $"maxDelay ({r.MaxDelay}) is shorter than delay ({r.Delay}): raise maxDelay or lower delay.", a.Id));
            }
        }
    }

    private static void ValidateInputs(
        ActivityDefinition a,
        ActivityDescriptor d,
        string path,
        ReferenceScope scope,
        List<ValidationError> errors)
    {
        var workflowInputs = scope.InputTypes.Keys.ToHashSet(StringComparer.Ordinal);
        var ancestors = scope.Ancestors;
        var index = scope.Index;
        foreach (var (name, value) in a.Inputs)
        {
            var inputPath = $"{path}.inputs.{name}";
            var input = d.Inputs.FirstOrDefault(i => i.Name == name);
            if (input is null)
            {
                var known = d.Inputs.Count == 0 ? "it takes none" : $"its inputs are {string.Join(", ", d.Inputs.Select(i => i.Name))}";
                errors.Add(new(inputPath, $"Activity type '{d.Type}' has no input '{name}': {known}.", a.Id));
                continue;
            }

            if (InputReference.IsReference(value))
            {
                CheckReference(value!, input, a, inputPath, scope, errors);
                continue;
            }

            if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String && TemplateEngine.IsTemplate(v.GetValue<string>()))
            {
                CheckTemplate(v.GetValue<string>(), a, inputPath, workflowInputs, ancestors, index, errors);
                continue;
            }

            if (value is null && input.Required)
            {
                errors.Add(new(inputPath, $"Input '{name}' is required and cannot be null.", a.Id));
            }
            else if (InputTypes.CheckLiteral(input.Type, input.Options, value) is { } problem)
            {
                errors.Add(new(inputPath, $"Input '{name}' has the wrong type: {problem}.", a.Id));
            }
        }

        foreach (var input in d.Inputs.Where(i => i.Required && i.Default is null && !a.Inputs.ContainsKey(i.Name)))
        {
            errors.Add(new($"{path}.inputs.{input.Name}", $"Input '{input.Name}' of '{d.Type}' is required: set it to a value or a template.", a.Id));
        }
    }

    /// <summary>Checks a typed reference: its path exists in the definition and its value's type fits the input.</summary>
    private static void CheckReference(JsonNode value, InputDescriptor input, ActivityDefinition a, string path, ReferenceScope scope, List<ValidationError> errors)
    {
        if (!InputReference.TryParse(value, out var reference, out var problem))
        {
            errors.Add(new($"{path}.from", problem!, a.Id));
            return;
        }

        var segments = reference!.Segments;
        string? sourceType = null;
        switch (reference.Root)
        {
            case "input":
                if (segments.Count < 2 || segments[1].Name is not { } name)
                {
                    errors.Add(new($"{path}.from", $"'{reference.Path}' must name an input: $.input.<name>.", a.Id));
                    return;
                }

                if (!scope.InputTypes.TryGetValue(name, out var declaredType))
                {
                    var declared = scope.InputTypes.Count == 0 ? "the definition declares no inputs" : $"declared inputs: {string.Join(", ", scope.InputTypes.Keys)}";
                    errors.Add(new($"{path}.from", $"'{reference.Path}' refers to input '{name}', which the definition does not declare ({declared}): add it to \"inputs\".", a.Id));
                    return;
                }

                sourceType = segments.Count == 2 ? declaredType : null;
                if (segments.Count > 2 && declaredType is not ("object" or "array"))
                {
                    errors.Add(new($"{path}.from", $"'{reference.Path}' reads a member of input '{name}', which is a {declaredType}: only object and array inputs have members.", a.Id));
                    return;
                }

                break;
            case "instance":
                if (segments.Count != 2 || segments[1].Name is not ("id" or "correlationId" or "operator"))
                {
                    errors.Add(new($"{path}.from", $"'{reference.Path}' is not an instance fact: use $.instance.id, $.instance.correlationId or $.instance.operator.", a.Id));
                    return;
                }

                sourceType = "string";
                break;
            default:
                if (!CheckStepReference(reference, a, path, scope, errors, out sourceType))
                {
                    return;
                }

                break;
        }

        if (sourceType is not null && !Assignable(sourceType, input.Type))
        {
            errors.Add(new($"{path}.from", $"'{reference.Path}' is a {sourceType}, but input '{input.Name}' takes a {input.Type}: reference a {input.Type} value, or build the value with a template.", a.Id));
        }

        if (reference.HasDefault)
        {
            if (reference.Default is null && input.Required)
            {
                errors.Add(new($"{path}.default", $"Input '{input.Name}' is required, so its reference's default cannot be null: give a {input.Type} value or omit \"default\".", a.Id));
            }
            else if (InputTypes.CheckLiteral(input.Type, input.Options, reference.Default) is { } wrong)
            {
                errors.Add(new($"{path}.default", $"The default of input '{input.Name}' has the wrong type: {wrong}.", a.Id));
            }
        }
    }

    private static bool CheckStepReference(InputReference reference, ActivityDefinition a, string path, ReferenceScope scope, List<ValidationError> errors, out string? sourceType)
    {
        sourceType = null;
        var segments = reference.Segments;
        if (segments.Count < 3 || segments[1].Name is not { } step || segments[2].Name is not ("output" or "outcome"))
        {
            errors.Add(new($"{path}.from", $"'{reference.Path}' must be $.steps.<step id>.output.<name> or $.steps.<step id>.outcome.", a.Id));
            return false;
        }

        if (!scope.Index.TryGetValue(step, out var stepIndex))
        {
            errors.Add(new($"{path}.from", $"'{reference.Path}' refers to step '{step}', which does not exist in this flowchart.", a.Id));
            return false;
        }

        if (scope.Ancestors is not null && !scope.Ancestors.Contains(step))
        {
            errors.Add(new($"{path}.from", $"'{reference.Path}' refers to step '{step}', which cannot have run before '{a.Id}': connect '{step}' before '{a.Id}' or remove the reference.", a.Id));
            return false;
        }

        if (segments[2].Name == "outcome")
        {
            sourceType = "string";
            if (segments.Count == 3)
            {
                return true;
            }

            errors.Add(new($"{path}.from", $"'{reference.Path}': an outcome is a port name and has no members.", a.Id));
            return false;
        }

        if (segments.Count < 4 || segments[3].Name is not { } output)
        {
            errors.Add(new($"{path}.from", $"'{reference.Path}' must name an output: $.steps.{step}.output.<name>.", a.Id));
            return false;
        }

        var stepType = scope.Root.Activities[stepIndex].Type;
        if (!scope.Registry.TryGet(stepType, out var stepDescriptor))
        {
            return false; // The unknown type is reported at the step itself.
        }

        var declaredOutput = stepDescriptor.Outputs.FirstOrDefault(o => o.Name == output);
        if (declaredOutput is null)
        {
            var outputs = stepDescriptor.Outputs.Count == 0 ? "it declares no outputs" : $"its outputs are {string.Join(", ", stepDescriptor.Outputs.Select(o => o.Name))}";
            errors.Add(new($"{path}.from", $"'{reference.Path}' refers to output '{output}' of step '{step}' ({stepType}), which it does not declare: {outputs}.", a.Id));
            return false;
        }

        sourceType = segments.Count == 4 ? declaredOutput.Type : null;
        return true;
    }

    /// <summary>Whether a value of type <paramref name="source"/> can bind to an input of type <paramref name="target"/> without rendering.</summary>
    private static bool Assignable(string source, string target) => (source, target) switch
    {
        _ when source == target => true,
        (_, "any") or ("any", _) => true,
        ("integer", "number") => true,
        ("string", "duration" or "enum") or ("duration" or "enum", "string") => true,
        _ => false,
    };

    /// <summary>What a step's references may see: the declared inputs and their types, the steps before it.</summary>
    private sealed record ReferenceScope(
        IReadOnlyDictionary<string, string> InputTypes,
        HashSet<string>? Ancestors,
        Dictionary<string, int> Index,
        FlowchartDefinition Root,
        ActivityRegistry Registry);

    private static void CheckTemplate(
        string text,
        ActivityDefinition a,
        string path,
        HashSet<string> workflowInputs,
        HashSet<string>? ancestors,
        Dictionary<string, int> index,
        List<ValidationError> errors)
    {
        if (!TemplateEngine.TryParse(text, out var template, out var error))
        {
            errors.Add(new(path, $"Template syntax error: {error}", a.Id));
            return;
        }

        foreach (var unknown in template!.UnknownRoots.Distinct())
        {
            errors.Add(new(path, $"Template refers to '{unknown}', which does not exist: use input.<name>, steps[\"<step id>\"].output.<name> or instance.id.", a.Id));
        }

        foreach (var r in template.References)
        {
            if (r is { Root: "input", Key: { } key } && !workflowInputs.Contains(key))
            {
                var declared = workflowInputs.Count == 0 ? "the definition declares no inputs" : $"declared inputs: {string.Join(", ", workflowInputs)}";
                errors.Add(new(path, $"Template refers to input '{key}', which the definition does not declare ({declared}): add it to \"inputs\".", a.Id));
            }
            else if (r is { Root: "steps", Key: { } step })
            {
                if (!index.ContainsKey(step))
                {
                    errors.Add(new(path, $"Template refers to step '{step}', which does not exist in this flowchart.", a.Id));
                }
                else if (ancestors is not null && !ancestors.Contains(step))
                {
                    errors.Add(new(path, $"Template refers to step '{step}', which cannot have run before '{a.Id}': connect '{step}' before '{a.Id}' or remove the reference.", a.Id));
                }
            }
        }
    }
}
