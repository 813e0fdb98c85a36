using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary>Small helpers over the REST API, so tests read as the calls they make.</summary>
public static class ApiClient
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonNode.Parse(text) ?? throw new InvalidOperationException("null JSON");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidOperationException($"{(int)response.StatusCode} body is not JSON: {text}", e);
        }
    }

    /// <summary>Asserts the status, showing the body when it differs.</summary>
    public static async Task<HttpResponseMessage> ExpectAsync(this Task<HttpResponseMessage> call, System.Net.HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(call);
        var response = await call;
        if (response.StatusCode != status)
        {
            Assert.Fail($"Expected {(int)status} {status}, got {(int)response.StatusCode} {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return response;
    }

    public static async Task<JsonNode> SaveDefinitionAsync(this HttpClient client, string json)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.PostAsync("/api/v1/workflow-definitions", Json(json));
        if ((int)response.StatusCode is not (200 or 201))
        {
            Assert.Fail($"Saving the definition answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return await response.ReadJsonAsync();
    }

    /// <summary>Starts an instance and returns its id.</summary>
    public static async Task<string> ExecuteAsync(this HttpClient client, string definitionId, JsonObject? input = null, int? version = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.PostAsJsonAsync($"/api/v1/workflow-definitions/{definitionId}/execute", new { input, version })
            .ExpectAsync(System.Net.HttpStatusCode.Accepted);
        var body = await response.ReadJsonAsync();
        return body["id"]!.GetValue<string>();
    }

    public static async Task<JsonNode> GetInstanceAsync(this HttpClient client, string id)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.GetAsync($"/api/v1/workflow-instances/{id}").ExpectAsync(System.Net.HttpStatusCode.OK);
        return await response.ReadJsonAsync();
    }

    public static string Status(this JsonNode detail) => detail["instance"]!["status"]!.GetValue<string>();

    /// <summary>Polls the instance until <paramref name="until"/> holds.</summary>
    public static async Task<JsonNode> WaitForInstanceAsync(this HttpClient client, string id, Func<JsonNode, bool> until, string waitingFor, TimeSpan? timeout = null)
    {
        JsonNode? last = null;
        return await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetInstanceAsync(id);
                return until(last) ? last : null;
            },
            $"instance {id} to be {waitingFor}",
            timeout,
            () => $"Last seen: {last?.ToJsonString()}");
    }

    public static Task<JsonNode> WaitForStatusAsync(this HttpClient client, string id, string status, TimeSpan? timeout = null) =>
        client.WaitForInstanceAsync(id, d => d.Status() == status, status, timeout);

    public static async Task<JsonArray> JournalAsync(this HttpClient client, string id, string query = "")
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.GetAsync($"/api/v1/workflow-instances/{id}/journal{query}").ExpectAsync(System.Net.HttpStatusCode.OK);
        return (await response.ReadJsonAsync())["items"]!.AsArray();
    }

    public static IEnumerable<JsonNode> StepsOf(this JsonNode detail, string activityId) =>
        detail["steps"]!.AsArray().Select(s => s!).Where(s => s["activityId"]!.GetValue<string>() == activityId);
}
