using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelServeShim.Apis.Elsa;

/// <summary>Recognises an Elsa 3 workflow definition among imported files.</summary>
public static class ElsaImport
{
    /// <summary>
    /// True when <paramref name="json"/> is an Elsa 3 workflow definition (its root is an <c>Elsa.Flowchart</c>), or
    /// Studio's save request wrapping one in <c>model</c>; <paramref name="model"/> is then the definition.
    /// </summary>
    public static bool IsElsaModel(string json, out JsonObject? model)
    {
        model = null;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: ElsaDefinitionMapper.DocumentOptions);
        }
        catch (JsonException)
        {
            return false;
        }

        var candidate = ElsaDefinitionMapper.Member(node, "model") as JsonObject ?? node as JsonObject;
        if (ElsaDefinitionMapper.Member(ElsaDefinitionMapper.Member(candidate, "root"), "type") is JsonValue type && type.GetValueKind() == JsonValueKind.String
            && type.GetValue<string>() == ElsaDefinitionMapper.FlowchartType)
        {
            model = candidate;
            return true;
        }

        return false;
    }
}
