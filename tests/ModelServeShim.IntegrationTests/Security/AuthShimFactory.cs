using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Security;

/// <summary>The host with one key per role.</summary>
public class AuthShimFactory : ShimFactory
{
    public const string ViewerKey = "k-view";
    public const string OperatorKey = "k-operate";
    public const string AdminKey = "k-admin";

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        .. Key(0, "viewer1", ViewerKey, Roles.Viewer),
        .. Key(1, "operator1", OperatorKey, Roles.Operator),
        .. Key(2, "admin1", AdminKey, Roles.Admin),
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
