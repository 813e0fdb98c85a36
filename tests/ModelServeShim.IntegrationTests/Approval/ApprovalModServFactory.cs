using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>The ModServ host with the approval test pipelines and one key each for an operator, an approver and an admin.</summary>
public sealed class ApprovalModServFactory : ModServFactory
{
    public const string OperatorKey = "ap-operate";
    public const string ApproverKey = "ap-approve";
    public const string AdminKey = "ap-admin";

    public ApprovalModServFactory() => ApprovalPipelines.WriteTo(WorkflowsDir);

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        .. Key(0, "operator1", OperatorKey, Roles.Operator),
        .. Key(1, "approver1", ApproverKey, Roles.Approver),
        .. Key(2, "admin1", AdminKey, Roles.Admin),
    ];

    public HttpClient CreateClient(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    private static KeyValuePair<string, string>[] Key(int index, string name, string key, string role) =>
    [
        new($"Auth:ApiKeys:{index}:Name", name),
        new($"Auth:ApiKeys:{index}:KeyHash", ApiKeyHasher.Hash(key)),
        new($"Auth:ApiKeys:{index}:Role", role),
    ];
}
