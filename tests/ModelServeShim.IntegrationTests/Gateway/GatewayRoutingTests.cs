using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Gateway;

/// <summary>
/// The gateway through the real host: services deployed with the test shimlet, answered by <see cref="FakeRuntime"/>,
/// requests made the way an OpenAI client makes them.
/// </summary>
public sealed class GatewayRoutingTests(GatewayFactory factory) : IClassFixture<GatewayFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Models_ListsRunningServices_InTheOpenAiListShape()
    {
        var serviceId = await DeployRunningAsync("gw-list");

        var list = await (await _client.GetAsync("/v1/models").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal("list", (string)list["object"]!);
        var card = list["data"]!.AsArray().Single(m => (string)m!["id"]! == "gw-list")!;
        Assert.Equal("model", (string)card["object"]!);
        Assert.Equal("modelserveshim", (string)card["owned_by"]!);
        Assert.Equal(serviceId, (string)card["service_id"]!);
        Assert.True((long)card["created"]! > 0);
        var openApi = await (await _client.GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync();
        Assert.Contains("\"/v1/chat/completions\"", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ByModelNameAndByServiceId_ReachesTheService_WithoutTheCallersKey()
    {
        var serviceId = await DeployRunningAsync("gw-route");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ApiClient.Json(GatewayClient.Chat("gw-route").ToJsonString()) };
        request.Headers.Authorization = new("Bearer", "sk-callers-key");

        var byName = await (await _client.SendAsync(request).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("gw-route", (string)byName["model"]!);
        Assert.Equal($"/svc/{serviceId}/v1/chat/completions", factory.Runtime.LastPath);
        Assert.Null(factory.Runtime.LastAuthorization);
        Assert.Equal(GatewayClient.Chat("gw-route").ToJsonString(), factory.Runtime.LastBody);

        var byId = await (await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat(serviceId)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("gw-route", (string)byId["model"]!);
        Assert.Equal(GatewayClient.Chat("gw-route").ToJsonString(), factory.Runtime.LastBody); // the runtime knows its model name only

        var completion = await (await _client.PostAsync("/v1/completions", new JsonObject { ["model"] = "gw-route", ["prompt"] = "Once" }).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("text_completion", (string)completion["object"]!);
        Assert.Equal($"/svc/{serviceId}/v1/completions", factory.Runtime.LastPath);

        var embedding = await (await _client.PostAsync("/v1/embeddings", new JsonObject { ["model"] = serviceId, ["input"] = "x" }).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(3, embedding["data"]![0]!["embedding"]!.AsArray().Count);
    }

    [Fact]
    public async Task UnknownModel_Returns404InTheOpenAiShape_ListingServedNames()
    {
        await DeployRunningAsync("gw-known");

        var error = await (await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("no-such-model")))
            .OpenAiErrorAsync(HttpStatusCode.NotFound, "invalid_request_error", "model_not_found");

        Assert.Equal("model", (string)error["param"]!);
        Assert.Contains("no-such-model", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains("gw-known", (string)error["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingModel_BadJson_AndTooLargeBodies_AreRefusedInTheOpenAiShape()
    {
        var missing = await (await _client.PostAsync("/v1/chat/completions", new JsonObject { ["messages"] = new JsonArray() }))
            .OpenAiErrorAsync(HttpStatusCode.BadRequest, "invalid_request_error", "missing_model");
        Assert.Equal("model", (string)missing["param"]!);

        await (await _client.PostAsync("/v1/completions", ApiClient.Json("not json")))
            .OpenAiErrorAsync(HttpStatusCode.BadRequest, "invalid_request_error", "invalid_json");

        var large = new JsonObject { ["model"] = "gw-known", ["prompt"] = new string('x', GatewayFactory.MaxBody) };
        await (await _client.PostAsync("/v1/completions", large))
            .OpenAiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
    }

    [Fact]
    public async Task ScaledToZero_Unhealthy_AndDeploying_Return503WithRetryAfter()
    {
        var serviceId = await DeployRunningAsync("gw-zero");
        await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 0}""")).ExpectAsync(HttpStatusCode.OK);

        var zero = await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-zero"));
        await zero.OpenAiErrorAsync(HttpStatusCode.ServiceUnavailable, "server_error", "model_not_ready");
        Assert.Equal(TimeSpan.FromSeconds(7), zero.Headers.RetryAfter?.Delta);

        factory.Shimlet.PendingFor = TimeSpan.FromSeconds(20);
        try
        {
            var deploying = await _client.DeployAsync(ModServClient.Body("gw-deploying"));
            await _client.WaitForStateAsync(deploying, "HealthChecking");
            var during = await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-deploying"));
            var error = await during.OpenAiErrorAsync(HttpStatusCode.ServiceUnavailable, "server_error", "model_not_ready");
            Assert.Contains("HealthChecking", (string)error["message"]!, StringComparison.Ordinal);
            Assert.NotNull(during.Headers.RetryAfter?.Delta);
        }
        finally
        {
            factory.Shimlet.PendingFor = TimeSpan.FromMilliseconds(200);
        }
    }

    [Fact]
    public async Task Stream_PassesThroughUnbuffered_AndMetricsCountRequestsTokensAndFirstToken()
    {
        var serviceId = await DeployRunningAsync("gw-stream");
        var labels = $"service=\"{serviceId}\",model=\"gw-stream\"";

        for (var i = 0; i < 3; i++)
        {
            var answer = await (await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-stream")).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
            Assert.Equal(FakeRuntime.Usage.Prompt, (int)answer["usage"]!["prompt_tokens"]!);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ApiClient.Json(GatewayClient.Chat("gw-stream", stream: true).ToJsonString()) };
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync();
        Assert.StartsWith("data: ", first, StringComparison.Ordinal);
        Assert.False(factory.Runtime.StreamFinished, "the first event came only after the runtime had finished: the stream was buffered");
        var rest = await reader.ReadToEndAsync();
        Assert.EndsWith("data: [DONE]", rest.TrimEnd(), StringComparison.Ordinal);

        await Poll.UntilAsync(async () => await _client.MetricAsync($"modserv_gateway_requests_total{{{labels},api=\"chat/completions\",status=\"200\"}}") == 4 ? "" : null,
            "4 requests counted");
        Assert.Equal(3 * FakeRuntime.Usage.Prompt + FakeRuntime.StreamUsage.Prompt, await _client.MetricAsync($"modserv_gateway_prompt_tokens_total{{{labels}}}"));
        Assert.Equal(3 * FakeRuntime.Usage.Completion + FakeRuntime.StreamUsage.Completion, await _client.MetricAsync($"modserv_gateway_completion_tokens_total{{{labels}}}"));
        Assert.Equal(1, await _client.MetricAsync($"modserv_gateway_time_to_first_token_seconds_count{{{labels},api=\"chat/completions\"}}"));
        Assert.Equal(4, await _client.MetricAsync($"modserv_gateway_request_duration_seconds_count{{{labels},api=\"chat/completions\"}}"));

        // The same traffic as the service detail page's chart reads it.
        var usage = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/usage");
        var points = usage["points"]!.AsArray();
        Assert.Equal(10, (int)usage["intervalSeconds"]!);
        Assert.Equal(60, points.Count);
        Assert.Equal(4, points.Sum(p => (int)p!["requests"]!));
        Assert.Equal(0, points.Sum(p => (int)p!["errors"]!));
        Assert.Equal(3 * FakeRuntime.Usage.Completion + FakeRuntime.StreamUsage.Completion, points.Sum(p => (long)p!["completionTokens"]!));
        Assert.True(points.Where(p => (int)p!["requests"]! > 0).All(p => (double)p!["meanLatencyMs"]! > 0));
    }

    [Fact]
    public async Task Stream_ClientThatGoesAway_CancelsTheRuntimesRequest_AndCounts499()
    {
        var serviceId = await DeployRunningAsync("gw-gone");
        var before = factory.Runtime.Aborted;

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ApiClient.Json(GatewayClient.Chat("gw-gone", stream: true).ToJsonString()) })
        using (var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }

        // The runtime's next write fails: the gateway closed its request when the client left.
        await Poll.UntilAsync(() => Task.FromResult<object?>(factory.Runtime.Aborted > before ? "" : null), "the runtime to see its client go");
        Assert.False(factory.Runtime.StreamFinished);
        await Poll.UntilAsync(async () => await _client.MetricAsync($"modserv_gateway_requests_total{{service=\"{serviceId}\",model=\"gw-gone\",api=\"chat/completions\",status=\"499\"}}") == 1 ? "" : null,
            "the abandoned request counted as 499");
    }

    [Fact]
    public async Task TwoReplicas_AreBalancedByOutstandingRequests_AndADeadOneIsSkipped()
    {
        var serviceId = await DeployRunningAsync("gw-replicas");
        var one = FakeRuntime.Start();
        var two = FakeRuntime.Start();
        try
        {
            factory.Shimlet.SetReplicaRuntimes(serviceId, [one, two]);
            // A scale record bumps the service's revision, so the gateway reads the two replicas at once.
            await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.OK);

            for (var i = 0; i < 10; i++)
            {
                await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-replicas")).ExpectAsync(HttpStatusCode.OK);
            }

            // Round robin among equals; the fake runtime (HttpListener) sometimes drops a kept-alive connection, and the
            // gateway's retry of such a request may land on the other replica.
            Assert.Equal(10, one.Inferences + two.Inferences);
            Assert.InRange(one.Inferences, 3, 7);

            // One request held open on a replica: the next ones all go to the other (fewest in flight).
            var held = _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-replicas", hold: true));
            await Poll.UntilAsync(() => Task.FromResult<object?>(one.Holding + two.Holding == 1 ? "" : null), "the held request to arrive");
            var (busy, idle) = one.Holding == 1 ? (one, two) : (two, one);
            var busyCount = busy.Inferences;
            for (var i = 0; i < 4; i++)
            {
                var answer = await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-replicas")).ExpectAsync(HttpStatusCode.OK);
                Assert.Equal(idle.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), answer.Headers.GetValues("X-Fake-Runtime").Single());
            }

            Assert.Equal(busyCount, busy.Inferences);
            busy.Hold.SetResult();
            await held.ExpectAsync(HttpStatusCode.OK);

            // A replica whose process died (connection refused) is left out; every request still succeeds.
            await one.DisposeAsync();
            var before = two.Inferences;
            for (var i = 0; i < 6; i++)
            {
                await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-replicas")).ExpectAsync(HttpStatusCode.OK);
            }

            Assert.Equal(before + 6, two.Inferences);
            Assert.Equal(1, await _client.MetricAsync($"modserv_gateway_replica_failures_total{{service=\"{serviceId}\",replica=\"{one.EndpointFor(serviceId).Authority}/svc/{serviceId}\"}}"));
            Assert.Equal(0, await _client.MetricAsync($"modserv_gateway_in_flight_requests{{service=\"{serviceId}\",replica=\"{two.EndpointFor(serviceId).Authority}/svc/{serviceId}\"}}"));
        }
        finally
        {
            await one.DisposeAsync();
            await two.DisposeAsync();
        }
    }

    private async Task<string> DeployRunningAsync(string modelName)
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body(modelName));
        await _client.WaitForStateAsync(serviceId, "Running");
        return serviceId;
    }
}
