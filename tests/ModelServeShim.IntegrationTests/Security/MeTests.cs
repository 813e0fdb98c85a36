using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Security;

/// <summary><c>GET /api/v1/me</c> with API keys configured: the key's name and its implied roles.</summary>
public sealed class MeWithKeysTests(AuthShimFactory factory) : IClassFixture<AuthShimFactory>
{
    [Theory]
    [InlineData(AuthShimFactory.ViewerKey, "viewer1", new[] { "viewer" })]
    [InlineData(AuthShimFactory.OperatorKey, "operator1", new[] { "viewer", "operator" })]
    [InlineData(AuthShimFactory.AdminKey, "admin1", new[] { "viewer", "operator", "admin", "approver" })]
    public async Task Me_ReturnsTheKeysNameAndImpliedRoles(string key, string name, string[] roles)
    {
        var me = await (await factory.CreateClient(key).GetAsync("/api/v1/me").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal(name, (string)me["name"]!);
        Assert.Equal(roles, me["roles"]!.AsArray().Select(r => (string)r!));
        Assert.True((bool)me["authRequired"]!);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-key")]
    public async Task Me_WithoutAValidKey_Returns401Problem(string? key)
    {
        var response = await factory.CreateClient(key).GetAsync("/api/v1/me").ExpectAsync(HttpStatusCode.Unauthorized);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(401, (int)(await response.ReadJsonAsync())["status"]!);
    }
}

/// <summary><c>GET /api/v1/me</c> with no keys configured (loopback only): the anonymous admin.</summary>
public sealed class MeAnonymousTests(ShimFactory factory) : IClassFixture<ShimFactory>
{
    [Fact]
    public async Task Me_OnAnonymousLoopback_IsAnAdmin_AndNoAuthIsRequired()
    {
        var me = await (await factory.CreateClient().GetAsync("/api/v1/me").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal("anonymous", (string)me["name"]!);
        Assert.Equal(["viewer", "operator", "admin", "approver"], me["roles"]!.AsArray().Select(r => (string)r!));
        Assert.False((bool)me["authRequired"]!);
        Assert.IsType<JsonArray>(me["roles"]);
    }
}
