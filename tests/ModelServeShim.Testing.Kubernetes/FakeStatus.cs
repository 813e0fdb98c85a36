using System.Text.Json.Nodes;

namespace ModelServeShim.Testing.Kubernetes;

/// <summary>meta/v1 Status bodies, as the API server sends with every error.</summary>
internal static class FakeStatus
{
    public static JsonObject Create(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = code < 400 ? "Success" : "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    public static JsonObject NotFound(FakeResource resource, string name)
    {
        var status = Create(404, "NotFound", $"{resource.Plural}{(resource.Group.Length > 0 ? "." + resource.Group : string.Empty)} \"{name}\" not found");
        status["details"] = new JsonObject { ["name"] = name, ["group"] = resource.Group, ["kind"] = resource.Plural };
        return status;
    }
}

/// <summary>Equality-based and existence label selectors (<c>a=b,c!=d,e,!f</c>).</summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    public static readonly LabelSelector Everything = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Split(part, "!=");
                selector._requirements.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (part.Contains("==", StringComparison.Ordinal))
            {
                var (key, value) = Split(part, "==");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (part.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = Split(part, "=");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (part.StartsWith('!'))
            {
                var key = part[1..];
                selector._requirements.Add(l => !l.ContainsKey(key));
            }
            else
            {
                selector._requirements.Add(l => l.ContainsKey(part));
            }
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        var labels = (obj["metadata"]?["labels"] as JsonObject)?
            .ToDictionary(l => l.Key, l => l.Value?.GetValue<string>() ?? string.Empty, StringComparer.Ordinal)
            ?? [];
        return _requirements.All(r => r(labels));
    }

    private static (string Key, string Value) Split(string part, string op)
    {
        var index = part.IndexOf(op, StringComparison.Ordinal);
        return (part[..index].Trim(), part[(index + op.Length)..].Trim());
    }
}

/// <summary>Number reading that does not care whether a node was parsed or built from an int or a long.</summary>
internal static class JsonNodeNumbers
{
    public static long AsLong(this JsonNode node) => long.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
}
