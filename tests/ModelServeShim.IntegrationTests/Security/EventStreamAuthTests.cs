using System.Net;
using System.Net.Http.Headers;
using ModelServeShim.IntegrationTests.Apis;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Security;

/// <summary><c>GET /api/v1/events</c> with API keys: a header, or <c>?access_token=</c> for browsers' EventSource.</summary>
public sealed class EventStreamAuthTests(AuthShimFactory factory) : IClassFixture<AuthShimFactory>
{
    [Fact]
    public async Task AccessToken_OpensTheStream()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await EventStreamTests.OpenAsync(factory.CreateClient(null), timeout.Token, $"?access_token={AuthShimFactory.ViewerKey}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Header_OpensTheStream()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await EventStreamTests.OpenAsync(factory.CreateClient(AuthShimFactory.ViewerKey), timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?access_token=not-a-key")]
    public async Task WithoutAValidKey_Returns401Problem(string query)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await EventStreamTests.OpenAsync(factory.CreateClient(null), timeout.Token, query);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AccessToken_WithoutEventStreamAccept_IsNotAccepted()
    {
        var client = factory.CreateClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/events?access_token={AuthShimFactory.ViewerKey}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
