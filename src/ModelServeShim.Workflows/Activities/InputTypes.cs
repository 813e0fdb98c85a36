using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Workflows.Activities;

/// <summary>Maps CLR property types to input kinds, and converts JSON values to them.</summary>
public static class InputTypes
{
    /// <summary>The input kind and enum options of a CLR type.</summary>
    public static (string Kind, IReadOnlyList<string>? Options) Describe(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string)) return ("string", null);
        if (t == typeof(int) || t == typeof(long)) return ("integer", null);
        if (t == typeof(double) || t == typeof(decimal) || t == typeof(float)) return ("number", null);
        if (t == typeof(bool)) return ("boolean", null);
        if (t == typeof(TimeSpan)) return ("duration", null);
        if (t.IsEnum) return ("enum", Enum.GetNames(t));
        if (t == typeof(JsonObject) || t == typeof(IReadOnlyDictionary<string, string>) || t == typeof(Dictionary<string, string>)) return ("object", null);
        if (t == typeof(JsonArray) || t == typeof(string[]) || t == typeof(IReadOnlyList<string>)) return ("array", null);
        if (t == typeof(JsonNode)) return ("any", null);
        throw new InvalidOperationException($"Input type {type.Name} is not supported; use string, integer, number, boolean, TimeSpan, an enum, JsonNode, JsonObject, JsonArray, string[] or a string dictionary.");
    }

    /// <summary>
    /// Checks a JSON literal against a declared kind, without converting; returns null when it fits, else
    /// what is wrong.
    /// </summary>
    public static string? CheckLiteral(string kind, IReadOnlyList<string>? options, JsonNode? value)
    {
        if (value is null)
        {
            return null;
        }

        var ok = kind switch
        {
            "string" => value is JsonValue v && v.GetValueKind() == JsonValueKind.String,
            "integer" => value is JsonValue v && v.GetValueKind() == JsonValueKind.Number
                && long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
            "number" => value is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
            "boolean" => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            "duration" => value is JsonValue v && v.GetValueKind() == JsonValueKind.String && Durations.TryParse(v.GetValue<string>(), out _),
            "enum" => value is JsonValue v && v.GetValueKind() == JsonValueKind.String
                && options!.Contains(v.GetValue<string>(), StringComparer.OrdinalIgnoreCase),
            "object" => value is JsonObject,
            "array" => value is JsonArray,
            _ => true,
        };
        if (ok)
        {
            return null;
        }

        return kind switch
        {
            "duration" => $"expected a duration: {Durations.Help}",
            "enum" => $"expected one of: {string.Join(", ", options!)}",
            "integer" => "expected a whole number",
            _ => $"expected a JSON {kind}",
        };
    }

    /// <summary>Converts an evaluated input value to the property's CLR type.</summary>
    /// <exception cref="FormatException">The value does not fit; the message says what was expected.</exception>
    public static object? Convert(JsonNode? value, Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null)
        {
            return t.IsValueType && Nullable.GetUnderlyingType(type) is null ? Activator.CreateInstance(t) : null;
        }

        if (t == typeof(JsonNode)) return value;
        if (t == typeof(JsonObject)) return value as JsonObject ?? throw new FormatException("expected a JSON object");
        if (t == typeof(JsonArray)) return value as JsonArray ?? throw new FormatException("expected a JSON array");
        if (t == typeof(string[]) || t == typeof(IReadOnlyList<string>))
        {
            return value is JsonArray a
                ? a.Select(i => i is JsonValue iv ? ScalarText(iv) : i?.ToJsonString() ?? "").ToArray()
                : throw new FormatException("expected a JSON array of strings");
        }

        if (t == typeof(IReadOnlyDictionary<string, string>) || t == typeof(Dictionary<string, string>))
        {
            return value is JsonObject o
                ? o.ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue jv ? ScalarText(jv) : kv.Value?.ToJsonString() ?? "")
                : throw new FormatException("expected a JSON object of strings");
        }

        if (value is not JsonValue scalar)
        {
            throw new FormatException($"expected a {Describe(type).Kind}, got a JSON {value.GetValueKind().ToString().ToLowerInvariant()}");
        }

        var text = ScalarText(scalar);
        if (t == typeof(string)) return text;
        if (t == typeof(bool))
        {
            return bool.TryParse(text, out var b) ? b : throw new FormatException($"expected true or false, got '{text}'");
        }

        if (t == typeof(int))
        {
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new FormatException($"expected a whole number, got '{text}'");
        }

        if (t == typeof(long))
        {
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : throw new FormatException($"expected a whole number, got '{text}'");
        }

        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal))
        {
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? System.Convert.ChangeType(d, t, CultureInfo.InvariantCulture)
                : throw new FormatException($"expected a number, got '{text}'");
        }

        if (t == typeof(TimeSpan))
        {
            return Durations.TryParse(text, out var ts) ? ts : throw new FormatException($"expected a duration, got '{text}': {Durations.Help}");
        }

        if (t.IsEnum)
        {
            return Enum.TryParse(t, text, ignoreCase: true, out var e) && Enum.IsDefined(t, e!)
                ? e
                : throw new FormatException($"expected one of {string.Join(", ", Enum.GetNames(t))}, got '{text}'");
        }

        throw new FormatException($"unsupported input type {t.Name}");
    }

    private static string ScalarText(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String => v.GetValue<string>(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => v.ToJsonString(),
    };
}
