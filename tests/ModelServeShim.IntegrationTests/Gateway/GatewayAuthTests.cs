using System.Net;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Gateway;

/// <summary>The gateway host with keys: an operator, a viewer, a consumer, and a consumer limited to <c>allowed-*</c>.</summary>
public sealed class AuthGatewayFactory : GatewayFactory
{
    public const string OperatorKey = "gw-operate";
    public const string ViewerKey = "gw-view";
    public const string ConsumerKey = "gw-consume";
    public const string LimitedKey = "gw-limited";

    protected override IEnumerable<KeyValuePair<string, string>> Keys =>
    [
        .. Key(0, "operator1", OperatorKey, Roles.Operator),
        .. Key(1, "viewer1", ViewerKey, Roles.Viewer),
        .. Key(2, "app1", ConsumerKey, Roles.Consumer),
        .. Key(3, "app2", LimitedKey, Roles.Consumer),
        new("Auth:ApiKeys:3:Models:0", "allowed-*"),
    ];

    public HttpClient CreateClient(string? key)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return client;
    }

    private static KeyValuePair<string, string>[] Key(int index, string name, string key, string role) =>
    [
        new($"Auth:ApiKeys:{index}:Name", name),
        new($"Auth:ApiKeys:{index}:KeyHash", ApiKeyHasher.Hash(key)),
        new($"Auth:ApiKeys:{index}:Role", role),
    ];
}

public sealed class GatewayAuthTests(AuthGatewayFactory factory) : IClassFixture<AuthGatewayFactory>
{
    [Fact]
    public async Task Consumer_CallsTheGatewayOnly_LimitedKeySeesAndUsesItsModelsOnly()
    {
        var operatorClient = factory.CreateClient(AuthGatewayFactory.OperatorKey);
        var allowed = await operatorClient.DeployAsync(ModServClient.Body("allowed-one"));
        var other = await operatorClient.DeployAsync(ModServClient.Body("other-one"));
        await operatorClient.WaitForStateAsync(allowed, "Running");
        await operatorClient.WaitForStateAsync(other, "Running");

        var consumer = factory.CreateClient(AuthGatewayFactory.ConsumerKey);
        await consumer.PostAsync("/v1/chat/completions", GatewayClient.Chat("other-one")).ExpectAsync(HttpStatusCode.OK);
        var all = await (await consumer.GetAsync("/v1/models").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(["allowed-one", "other-one"], all["data"]!.AsArray().Select(m => (string)m!["id"]!));
        await consumer.GetAsync(ModServClient.Base).ExpectAsync(HttpStatusCode.Forbidden);
        await consumer.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(ModServClient.Body("by-consumer").ToJsonString())).ExpectAsync(HttpStatusCode.Forbidden);
        await consumer.GetAsync("/metrics").ExpectAsync(HttpStatusCode.Forbidden);

        var limited = factory.CreateClient(AuthGatewayFactory.LimitedKey);
        await limited.PostAsync("/v1/chat/completions", GatewayClient.Chat("allowed-one")).ExpectAsync(HttpStatusCode.OK);
        var refused = await (await limited.PostAsync("/v1/chat/completions", GatewayClient.Chat(other)))
            .OpenAiErrorAsync(HttpStatusCode.Forbidden, "permission_error", "model_not_allowed");
        Assert.Equal("model", (string)refused["param"]!);
        var seen = await (await limited.GetAsync("/v1/models").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(["allowed-one"], seen["data"]!.AsArray().Select(m => (string)m!["id"]!));
        var unknown = await (await limited.PostAsync("/v1/chat/completions", GatewayClient.Chat("missing-one")))
            .OpenAiErrorAsync(HttpStatusCode.NotFound, "invalid_request_error", "model_not_found");
        Assert.DoesNotContain("other-one", (string)unknown["message"]!, StringComparison.Ordinal);

        // Every ranked role may call the gateway too.
        await factory.CreateClient(AuthGatewayFactory.ViewerKey).PostAsync("/v1/chat/completions", GatewayClient.Chat("other-one")).ExpectAsync(HttpStatusCode.OK);
        await operatorClient.PostAsync("/v1/completions", GatewayClient.Chat("allowed-one")).ExpectAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-key")]
    public async Task NoOrInvalidKey_Returns401InTheOpenAiShape(string? key)
    {
        var client = factory.CreateClient(key);

        await (await client.GetAsync("/v1/models")).OpenAiErrorAsync(HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        await (await client.PostAsync("/v1/chat/completions", GatewayClient.Chat("allowed-one"))).OpenAiErrorAsync(HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }
}
