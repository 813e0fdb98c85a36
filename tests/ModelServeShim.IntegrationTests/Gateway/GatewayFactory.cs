using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Gateway;

/// <summary>The ModServ host with the gateway's timings shortened for tests and a small body limit.</summary>
public class GatewayFactory : ModServFactory
{
    public const int MaxBody = 64 * 1024;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Gateway:MaxRequestBodyBytes", MaxBody.ToString(CultureInfo.InvariantCulture)),
        new("Gateway:StatusRefreshInterval", "00:00:00.200"),
        new("Gateway:ReplicaCooldown", "00:00:30"),
        new("Gateway:RetryAfter", "00:00:07"),
        .. Keys,
    ];

    protected virtual IEnumerable<KeyValuePair<string, string>> Keys => [];
}

/// <summary>Calls through the gateway as an OpenAI client does, and reads <c>/metrics</c>.</summary>
public static class GatewayClient
{
    public static JsonObject Chat(string model, bool stream = false, bool hold = false)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "a secret prompt" }),
            ["max_tokens"] = 4,
        };
        if (stream)
        {
            body["stream"] = true;
        }

        if (hold)
        {
            body["hold"] = true;
        }

        return body;
    }

    public static Task<HttpResponseMessage> PostAsync(this HttpClient client, string path, JsonObject body) =>
        client.PostAsync(path, ApiClient.Json(body.ToJsonString()));

    /// <summary>Asserts the OpenAI error shape and returns the <c>error</c> object.</summary>
    public static async Task<JsonNode> OpenAiErrorAsync(this HttpResponseMessage response, HttpStatusCode status, string type, string? code)
    {
        Assert.Equal(status, response.StatusCode);
        var error = (await response.ReadJsonAsync())["error"]!;
        Assert.Equal(type, (string)error["type"]!);
        Assert.Equal(code, (string?)error["code"]);
        Assert.False(string.IsNullOrEmpty((string)error["message"]!));
        return error;
    }

    /// <summary>The value of one sample of <c>/metrics</c> (0 when it is not there).</summary>
    public static async Task<double> MetricAsync(this HttpClient client, string sample)
    {
        var text = await (await client.GetAsync("/metrics").ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync();
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(sample + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(sample.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
