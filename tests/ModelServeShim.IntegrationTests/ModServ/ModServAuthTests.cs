using System.Net;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>The ModServ host with one API key per role.</summary>
public sealed class AuthModServFactory : ModServFactory
{
    public const string ViewerKey = "ms-view";
    public const string OperatorKey = "ms-operate";

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Auth:ApiKeys:0:Name", "viewer1"),
        new("Auth:ApiKeys:0:KeyHash", ApiKeyHasher.Hash(ViewerKey)),
        new("Auth:ApiKeys:0:Role", Roles.Viewer),
        new("Auth:ApiKeys:1:Name", "operator1"),
        new("Auth:ApiKeys:1:KeyHash", ApiKeyHasher.Hash(OperatorKey)),
        new("Auth:ApiKeys:1:Role", Roles.Operator),
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
}

public sealed class ModServAuthTests(AuthModServFactory factory) : IClassFixture<AuthModServFactory>
{
    [Fact]
    public async Task Operator_Deploys_AsCreatedByAndHistoryOperator_ViewerGets403OnChanges()
    {
        var operatorClient = factory.CreateClient(AuthModServFactory.OperatorKey);
        var viewer = factory.CreateClient(AuthModServFactory.ViewerKey);

        await viewer.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(ModServClient.Body("viewer-tries").ToJsonString())).ExpectAsync(HttpStatusCode.Forbidden);
        var serviceId = await operatorClient.DeployAsync(ModServClient.Body("operated"));
        var service = await viewer.WaitForStateAsync(serviceId, "Running");

        Assert.Equal("operator1", (string)service["service"]!["createdBy"]!);
        Assert.Equal("operator1", (string)service.History().First()["operator"]!);
        var logs = await viewer.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        Assert.All(logs["items"]!.AsArray(), e => Assert.Equal("operator1", (string)e!["properties"]!["operator"]!));

        await viewer.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.Forbidden);
        await viewer.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null).ExpectAsync(HttpStatusCode.Forbidden);
        await viewer.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain(factory.Shimlet.Scaled, s => s.ServiceId == serviceId);
        Assert.DoesNotContain(serviceId, factory.Shimlet.Deleted);
        Assert.Empty(await viewer.GetDataAsync($"{ModServClient.Base}?model=viewer-tries") is { } list ? list.AsArray() : []);

        await operatorClient.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.OK);
        await operatorClient.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        var stopped = await viewer.WaitForStateAsync(serviceId, "Stopped");
        Assert.Equal(["operator1", "operator1", "operator1"], stopped.History().TakeLast(3).Select(h => (string)h["operator"]!));
    }

    [Fact]
    public async Task NoKey_Returns401_OnEveryModServEndpoint()
    {
        var anonymous = factory.CreateClient(null);
        await anonymous.GetAsync(ModServClient.Base).ExpectAsync(HttpStatusCode.Unauthorized);
        await anonymous.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(ModServClient.Body("anon").ToJsonString())).ExpectAsync(HttpStatusCode.Unauthorized);
        await anonymous.GetAsync("/metrics").ExpectAsync(HttpStatusCode.Unauthorized);
    }
}
