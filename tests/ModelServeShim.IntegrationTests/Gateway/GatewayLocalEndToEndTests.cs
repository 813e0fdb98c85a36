using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Gateway;

/// <summary>
/// The gateway with nothing faked: the sample GGUF deployed by the built-in local shimlet as two processes of the
/// embedded llama.cpp runtime, called through <c>/v1</c>.
/// </summary>
public sealed class GatewayLocalEndToEndTests(GatewayFactory factory) : IClassFixture<GatewayFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task TwoLocalReplicas_ServeChatStreamsAndCompletions_SpreadRequests_AndSurviveAKilledReplica()
    {
        var body = ModServClient.Body("gw-local", replicas: 2);
        body["shimlet"] = "local";
        var serviceId = await _client.DeployAsync(body);
        try
        {
            await ServeAndSurviveAsync(serviceId);
        }
        finally
        {
            // Never leave runtime processes behind, whatever failed.
            await _client.DeleteAsync($"{ModServClient.Base}/{serviceId}");
            await _client.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromMinutes(1));
        }

        await (await _client.PostAsync("/v1/completions", new JsonObject { ["model"] = "gw-local", ["prompt"] = "x" }))
            .OpenAiErrorAsync(HttpStatusCode.NotFound, "invalid_request_error", "model_not_found");
    }

    private async Task ServeAndSurviveAsync(string serviceId)
    {
        await _client.WaitForStateAsync(serviceId, "Running", TimeSpan.FromMinutes(3));
        // Both processes ready (the health check passes with all replicas ready; the gateway reads them from the status).
        var models = await (await _client.GetAsync("/v1/models").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Contains(models["data"]!.AsArray(), m => (string)m!["id"]! == "gw-local");

        long prompt = 0, completion = 0;
        for (var i = 0; i < 4; i++)
        {
            var chat = await (await _client.PostAsync("/v1/chat/completions", new JsonObject
            {
                ["model"] = "gw-local",
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello" }),
                ["max_tokens"] = 4,
                ["temperature"] = 0,
            }).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
            Assert.Equal("chat.completion", (string)chat["object"]!);
            prompt += (long)chat["usage"]!["prompt_tokens"]!;
            completion += (long)chat["usage"]!["completion_tokens"]!;
        }

        var text = await (await _client.PostAsync("/v1/completions", new JsonObject { ["model"] = serviceId, ["prompt"] = "Once upon a time", ["max_tokens"] = 4 })
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        prompt += (long)text["usage"]!["prompt_tokens"]!;
        completion += (long)text["usage"]!["completion_tokens"]!;

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions"))
        {
            request.Content = ApiClient.Json(new JsonObject
            {
                ["model"] = "gw-local", ["stream"] = true, ["max_tokens"] = 4,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
            }.ToJsonString());
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
            Assert.Equal("data: [DONE]", events[^1]);
            Assert.True(events.Count >= 3, string.Join('\n', events));
            foreach (var e in events.SkipLast(1).Select(e => JsonNode.Parse(e["data: ".Length..])!))
            {
                if (e["usage"] is JsonObject usage)
                {
                    prompt += (long)usage["prompt_tokens"]!;
                    completion += (long)usage["completion_tokens"]!;
                }
            }
        }

        var labels = $"service=\"{serviceId}\",model=\"gw-local\"";
        Assert.Equal(prompt, await _client.MetricAsync($"modserv_gateway_prompt_tokens_total{{{labels}}}"));
        Assert.Equal(completion, await _client.MetricAsync($"modserv_gateway_completion_tokens_total{{{labels}}}"));
        Assert.Equal(1, await _client.MetricAsync($"modserv_gateway_time_to_first_token_seconds_count{{{labels},api=\"chat/completions\"}}"));

        var record = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(factory.DataDir, "local-shimlet", "services", serviceId, "service.json")))!;
        var replicas = record["replicas"]!.AsArray().Select(r => (Port: (int)r!["port"]!, Pid: (int)r["pid"]!)).ToList();
        Assert.Equal(2, replicas.Count);
        foreach (var (port, _) in replicas)
        {
            Assert.True(await _client.MetricAsync($"modserv_gateway_replica_requests_total{{service=\"{serviceId}\",replica=\"127.0.0.1:{port}\"}}") >= 2,
                $"replica on port {port} got fewer than 2 of the 6 requests");
        }

        // Kill one replica's process: the next requests still succeed (the dead one is left out; the shimlet restarts it).
        using (var victim = System.Diagnostics.Process.GetProcessById(replicas[0].Pid))
        {
            victim.Kill();
            await victim.WaitForExitAsync();
        }

        for (var i = 0; i < 4; i++)
        {
            await _client.PostAsync("/v1/completions", new JsonObject { ["model"] = "gw-local", ["prompt"] = "Once", ["max_tokens"] = 2 }).ExpectAsync(HttpStatusCode.OK);
        }

    }
}
