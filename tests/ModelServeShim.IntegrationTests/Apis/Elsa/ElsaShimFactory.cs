using System.Net.Http.Headers;
using ModelServeShim.IntegrationTests.Security;

namespace ModelServeShim.IntegrationTests.Apis.Elsa;

/// <summary>The host with one key per role and one configured Elsa Studio origin.</summary>
public sealed class ElsaShimFactory : AuthShimFactory
{
    public const string StudioOrigin = "http://studio.test:5000";

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
        [.. base.Settings, new("ElsaStudio:AllowedOrigins:0", StudioOrigin)];

    /// <summary>A client that authenticates the way Elsa Studio's api-key attribute does.</summary>
    public HttpClient CreateStudioClient(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        return client;
    }
}
