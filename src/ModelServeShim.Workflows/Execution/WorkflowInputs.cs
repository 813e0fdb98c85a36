using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Workflows.Execution;

/// <summary>A declared input that an instance's input does not satisfy (or an input the definition does not declare).</summary>
/// <param name="Input">The input's name.</param>
/// <param name="Message">What is wrong.</param>
public sealed record InputError(string Input, string Message)
{
    /// <summary>Where the input stands in a start request's body: <c>$.input.&lt;name&gt;</c>.</summary>
    public string Path => $"$.input.{Input}";
}

/// <summary>
/// Binds an instance's input to a definition's declared inputs: every input must be declared, required ones present,
/// each of its declared type; absent optional inputs take their default. The engine binds every start with it; a
/// caller that builds the input from a request of its own checks it first (<see cref="Check"/>) and names each error
/// by its own field, since the error carries the input's name rather than a path.
/// </summary>
public static class WorkflowInputs
{
    /// <summary>The bound input (defaults filled in).</summary>
    /// <exception cref="InputInvalidException">The input does not match the declared inputs.</exception>
    public static JsonObject Bind(WorkflowDefinition definition, JsonObject input)
    {
        var bound = Bind(definition, input, out var errors);
        return errors.Count > 0 ? throw new InputInvalidException(errors) : bound;
    }

    /// <summary>What is wrong with <paramref name="input"/> for <paramref name="definition"/>; empty when it binds.</summary>
    public static IReadOnlyList<InputError> Check(WorkflowDefinition definition, JsonObject input)
    {
        Bind(definition, input, out var errors);
        return errors;
    }

    private static JsonObject Bind(WorkflowDefinition definition, JsonObject input, out List<InputError> errors)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(input);
        errors = [];
        var bound = new JsonObject();
        foreach (var (name, _) in input)
        {
            if (!definition.Inputs.Any(i => i.Name == name))
            {
                var declared = definition.Inputs.Count == 0 ? "it declares no inputs" : $"declared: {string.Join(", ", definition.Inputs.Select(i => i.Name))}";
                errors.Add(new(name, $"'{definition.DefinitionId}' has no input '{name}' ({declared})."));
            }
        }

        foreach (var declared in definition.Inputs)
        {
            input.TryGetPropertyValue(declared.Name, out var value);
            value ??= declared.Default?.DeepClone();
            if (value is null)
            {
                if (declared.Required)
                {
                    errors.Add(new(declared.Name, $"Input '{declared.Name}' ({declared.Type}) is required."));
                }

                continue;
            }

            if (InputTypes.CheckLiteral(declared.Type, null, value) is { } problem)
            {
                errors.Add(new(declared.Name, $"Input '{declared.Name}' has the wrong type: {problem}."));
                continue;
            }

            bound[declared.Name] = value.DeepClone();
        }

        return bound;
    }
}
