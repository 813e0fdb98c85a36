using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>Reads and writes workflow definition JSON.</summary>
public static class DefinitionJson
{
    /// <summary>Strict options: camelCase, unknown properties are errors, comments and trailing commas allowed.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        PropertyNameCaseInsensitive = false,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 64,
    };

    /// <summary>Parses definition JSON; on failure returns the error with its JSON path.</summary>
    public static WorkflowDefinition? Parse(string json, out ValidationError? error)
    {
        error = null;
        try
        {
            var definition = JsonSerializer.Deserialize<WorkflowDefinition>(json, Options);
            if (definition is null)
            {
                error = new ValidationError("$", "The definition is empty: send a JSON object with definitionId and root.");
            }

            return definition;
        }
        catch (JsonException e)
        {
            error = new ValidationError(e.Path ?? "$", Describe(e));
            return null;
        }
    }

    /// <summary>Serializes a definition with its assigned version.</summary>
    public static string Serialize(WorkflowDefinition definition) => JsonSerializer.Serialize(definition, Options);

    private static string Describe(JsonException e)
    {
        // System.Text.Json messages name the member and the position; keep them, minus the type noise.
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut] : message;
        message = message.Replace("ModelServeShim.Workflows.Definitions.", "", StringComparison.Ordinal);
        return $"Invalid JSON: {message} (line {(e.LineNumber ?? 0) + 1}). Fix the JSON at this path; unknown properties are not allowed.";
    }
}

/// <summary>A problem in a definition, located by its JSON path.</summary>
/// <param name="Path">The JSON path, e.g. <c>$.root.activities[2].retry.delay</c>.</param>
/// <param name="Message">What is wrong and how to fix it.</param>
/// <param name="ActivityId">The activity the problem belongs to, when there is one (for the designer).</param>
public sealed record ValidationError(string Path, string Message, string? ActivityId = null);
