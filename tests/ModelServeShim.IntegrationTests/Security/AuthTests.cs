using System.Net;
using System.Net.Http.Json;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Security;

public sealed class AuthTests(AuthShimFactory factory) : IClassFixture<AuthShimFactory>
{
    private const string Hello = """
        {
          "definitionId": "auth-hello",
          "root": { "type": "Flowchart", "activities": [ { "id": "hi", "type": "ModelServeShim.Log", "inputs": { "message": "hi {{ instance.operator }}" } } ] }
        }
        """;

    private const string Sleepy = """
        {
          "definitionId": "auth-sleepy",
          "root": { "type": "Flowchart", "activities": [ { "id": "sleep", "type": "ModelServeShim.Delay", "inputs": { "duration": "10m" } } ] }
        }
        """;

    [Fact]
    public async Task NoKey_Returns401Problem()
    {
        var response = await factory.CreateClient(null).GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.Unauthorized);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(401, problem["status"]!.GetValue<int>());
        Assert.Contains("Bearer", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/activities")]
    [InlineData("/api/v1/workflow-instances")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/api/v1/schemas/workflow-definition.json")]
    public async Task WrongKey_Returns401(string path)
    {
        var response = await factory.CreateClient("not-a-key").GetAsync(path).ExpectAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_NeedsNoKey()
    {
        await factory.CreateClient(null).GetAsync("/healthz").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Viewer_CanRead_ButNotSave()
    {
        var viewer = factory.CreateClient(AuthShimFactory.ViewerKey);
        await viewer.GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.OK);
        await viewer.GetAsync("/api/v1/activities").ExpectAsync(HttpStatusCode.OK);

        var response = await viewer.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(Hello)).ExpectAsync(HttpStatusCode.Forbidden);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("viewer", (await response.ReadJsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await viewer.PostAsync("/api/v1/workflow-definitions/auth-hello/execute", ApiClient.Json("{}")).ExpectAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Viewer_AlsoAcceptedAsXApiKeyHeader()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", AuthShimFactory.ViewerKey);
        await client.GetAsync("/api/v1/workflow-definitions").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Operator_CanSave_ButNotDelete_AdminCanDelete()
    {
        var definition = Hello.Replace("auth-hello", "auth-deletable", StringComparison.Ordinal);
        var operatorClient = factory.CreateClient(AuthShimFactory.OperatorKey);
        var saved = await (await operatorClient.PostAsync("/api/v1/workflow-definitions", ApiClient.Json(definition)).ExpectAsync(HttpStatusCode.Created)).ReadJsonAsync();
        Assert.Equal("operator1", saved["definition"]!["createdBy"]!.GetValue<string>());

        await operatorClient.DeleteAsync("/api/v1/workflow-definitions/auth-deletable").ExpectAsync(HttpStatusCode.Forbidden);
        await factory.CreateClient(AuthShimFactory.ViewerKey).DeleteAsync("/api/v1/workflow-definitions/auth-deletable").ExpectAsync(HttpStatusCode.Forbidden);

        await factory.CreateClient(AuthShimFactory.AdminKey).DeleteAsync("/api/v1/workflow-definitions/auth-deletable").ExpectAsync(HttpStatusCode.NoContent);
        await operatorClient.GetAsync("/api/v1/workflow-definitions/auth-deletable").ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Operator_IsRecordedOnTheInstanceAndInTheJournal()
    {
        var client = factory.CreateClient(AuthShimFactory.OperatorKey);
        await client.SaveDefinitionAsync(Hello);

        var id = await client.ExecuteAsync("auth-hello");
        var detail = await client.WaitForStatusAsync(id, "Completed");

        Assert.Equal("operator1", detail["instance"]!["operator"]!.GetValue<string>());
        var journal = await client.JournalAsync(id);
        Assert.NotEmpty(journal);
        Assert.All(journal, j => Assert.Equal("operator1", j!["properties"]!["operator"]!.GetValue<string>()));
        Assert.Contains("operator1", journal[0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Readers see it too.
        var viewed = await factory.CreateClient(AuthShimFactory.ViewerKey).GetInstanceAsync(id);
        Assert.Equal("operator1", viewed["instance"]!["operator"]!.GetValue<string>());
    }

    [Fact]
    public async Task OperatorCancel_RecordsTheCancellingKeyName()
    {
        var starter = factory.CreateClient(AuthShimFactory.AdminKey);
        await starter.SaveDefinitionAsync(Sleepy);
        var id = await starter.ExecuteAsync("auth-sleepy");
        await starter.WaitForInstanceAsync(id, d => d.StepsOf("sleep").Any(s => s["status"]!.GetValue<string>() == "Running"), "running");

        await factory.CreateClient(AuthShimFactory.ViewerKey).PostAsJsonAsync($"/api/v1/workflow-instances/{id}/cancel", new { reason = "no" })
            .ExpectAsync(HttpStatusCode.Forbidden);
        await factory.CreateClient(AuthShimFactory.OperatorKey).PostAsJsonAsync($"/api/v1/workflow-instances/{id}/cancel", new { reason = "rollback" })
            .ExpectAsync(HttpStatusCode.Accepted);

        var detail = await starter.WaitForStatusAsync(id, "Cancelled");
        Assert.Equal("admin1", detail["instance"]!["operator"]!.GetValue<string>());
        Assert.Contains("rollback (by operator1)", detail["instance"]!["errorMessage"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Cancelled", Assert.Single(detail.StepsOf("sleep"))["status"]!.GetValue<string>());
        var journal = await starter.JournalAsync(id);
        Assert.Contains(journal, j => j!["event"]!.GetValue<string>() == "InstanceCancelled"
            && j["message"]!.GetValue<string>().Contains("operator1", StringComparison.Ordinal));
    }
}
