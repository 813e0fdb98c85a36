using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>
/// A typed reference as a step input: <c>{"from": "$.input.resourceRequirements.acceleratorType", "default": null}</c>.
/// The value is taken as it is (number, boolean, object, …) from the instance input, an earlier step's output or the
/// instance's facts, never rendered to text and parsed back. A path that leads nowhere (a missing member, a null on the
/// way, an index past the end) yields <see cref="Default"/> when the reference has one, else the input is left unset and
/// the activity's own default applies. This is the definition format's equivalent of Elsa 3's typed
/// <c>Input&lt;T&gt;</c> with a Variable/Input expression; Liquid templates stay for building strings.
/// </summary>
/// <remarks>
/// An input value is a reference when it is a JSON object whose only members are <c>from</c> (a string starting with
/// <c>$.</c>) and optionally <c>default</c>. Paths: <c>$.input.&lt;name&gt;[.member…]</c>,
/// <c>$.steps.&lt;step id&gt;.output.&lt;name&gt;[.member…]</c> (or <c>$.steps["model-validation"]…</c>),
/// <c>$.steps.&lt;step id&gt;.outcome</c>, <c>$.instance.id|correlationId|operator</c>. Members are dotted names
/// (letters, digits, '_' and '-') or bracketed: <c>["key"]</c>, <c>['key']</c>, <c>[0]</c>.
/// </remarks>
public sealed record InputReference
{
    private const string FromKey = "from";
    private const string DefaultKey = "default";

    private InputReference(string path, IReadOnlyList<PathSegment> segments, bool hasDefault, JsonNode? defaultValue)
    {
        Path = path;
        Segments = segments;
        HasDefault = hasDefault;
        Default = defaultValue;
    }

    /// <summary>The path as written, e.g. <c>$.input.resourceRequirements.acceleratorType</c>.</summary>
    public string Path { get; }

    /// <summary>The parsed members after <c>$</c>: the root (<c>input</c>, <c>steps</c>, <c>instance</c>) first.</summary>
    public IReadOnlyList<PathSegment> Segments { get; }

    /// <summary>Whether the reference names a default (which may be <c>null</c>).</summary>
    public bool HasDefault { get; }

    /// <summary>The value used when the path leads nowhere.</summary>
    public JsonNode? Default { get; }

    /// <summary>The root: <c>input</c>, <c>steps</c> or <c>instance</c>.</summary>
    public string Root => Segments[0].Name!;

    /// <summary>Whether a definition's input value has the shape of a reference (whether or not it is a valid one).</summary>
    public static bool IsReference(JsonNode? value) =>
        value is JsonObject o
        && o.ContainsKey(FromKey)
        && o.All(p => p.Key is FromKey or DefaultKey);

    /// <summary>Parses a reference object; on failure says what is wrong with it.</summary>
    public static bool TryParse(JsonNode? value, out InputReference? reference, out string? error)
    {
        reference = null;
        if (value is not JsonObject o || !IsReference(o))
        {
            error = "A reference is an object {\"from\": \"$.input.<name>\", \"default\": <value>} with no other members.";
            return false;
        }

        if (o[FromKey] is not JsonValue fromValue || fromValue.GetValueKind() != JsonValueKind.String)
        {
            error = "\"from\" must be a string path such as \"$.input.modelFile\" or \"$.steps.model-validation.output.modelPath\".";
            return false;
        }

        var path = fromValue.GetValue<string>();
        if (!TryParsePath(path, out var segments, out error))
        {
            return false;
        }

        bool hasDefault = o.TryGetPropertyValue(DefaultKey, out var defaultValue);
        reference = new InputReference(path, segments, hasDefault, defaultValue?.DeepClone());
        return true;
    }

    /// <summary>
    /// Follows the path's segments from <paramref name="firstSegment"/> on, starting at <paramref name="start"/> (the
    /// node that the segments before it lead to). Returns false when the path leads nowhere (a missing member, an index
    /// past the end, or a null on the way or at the end); then the caller applies the default.
    /// </summary>
    public bool TryResolveFrom(JsonNode? start, int firstSegment, out JsonNode? value)
    {
        var current = start;
        foreach (var segment in Segments.Skip(firstSegment))
        {
            current = segment switch
            {
                { Name: { } name } when current is JsonObject o => o.TryGetPropertyValue(name, out var next) ? next : null,
                { Index: { } index } when current is JsonArray a => index < a.Count ? a[index] : null,
                _ => null,
            };
            if (current is null)
            {
                value = null;
                return false;
            }
        }

        value = current;
        return current is not null;
    }

    /// <summary>The reference as it is written in a definition.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { [FromKey] = Path };
        if (HasDefault)
        {
            o[DefaultKey] = Default?.DeepClone();
        }

        return o;
    }

    private static bool TryParsePath(string path, out List<PathSegment> segments, out string? error)
    {
        segments = [];
        error = null;
        if (!path.StartsWith("$.", StringComparison.Ordinal) && !path.StartsWith("$[", StringComparison.Ordinal))
        {
            error = $"Path '{path}' must start with '$.' (e.g. \"$.input.modelFile\").";
            return false;
        }

        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var start = ++i;
                while (i < path.Length && (char.IsAsciiLetterOrDigit(path[i]) || path[i] is '_' or '-'))
                {
                    i++;
                }

                if (i == start)
                {
                    error = $"Path '{path}' has an empty or invalid member at position {start}: use letters, digits, '_' and '-', or [\"key\"].";
                    return false;
                }

                segments.Add(new PathSegment(path[start..i], null));
            }
            else if (path[i] == '[')
            {
                if (!TryParseBracket(path, ref i, out var segment))
                {
                    error = $"Path '{path}' has an invalid [...] at position {i}: use [\"key\"], ['key'] or [0].";
                    return false;
                }

                segments.Add(segment);
            }
            else
            {
                error = $"Path '{path}' has an unexpected '{path[i]}' at position {i}: separate members with '.' or use [\"key\"].";
                return false;
            }
        }

        if (segments.Count == 0 || segments[0].Name is not ("input" or "steps" or "instance"))
        {
            error = $"Path '{path}' must start with $.input, $.steps or $.instance.";
            return false;
        }

        return true;
    }

    private static bool TryParseBracket(string path, ref int i, out PathSegment segment)
    {
        segment = default;
        var start = i + 1;
        if (start < path.Length && path[start] is '"' or '\'')
        {
            var quote = path[start];
            var text = new StringBuilder();
            var j = start + 1;
            while (j < path.Length && path[j] != quote)
            {
                if (path[j] == '\\' && j + 1 < path.Length)
                {
                    j++;
                }

                text.Append(path[j++]);
            }

            if (j + 1 >= path.Length || path[j + 1] != ']')
            {
                return false;
            }

            segment = new PathSegment(text.ToString(), null);
            i = j + 2;
            return true;
        }

        var close = path.IndexOf(']', start);
        if (close < 0 || !int.TryParse(path.AsSpan(start, close - start), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        segment = new PathSegment(null, index);
        i = close + 1;
        return true;
    }
}

/// <summary>One member of a reference path: an object member (<see cref="Name"/>) or an array index.</summary>
/// <param name="Name">The member name.</param>
/// <param name="Index">The array index.</param>
public readonly record struct PathSegment(string? Name, int? Index);
