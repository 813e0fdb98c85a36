using Microsoft.Extensions.Options;
using ModelServeShim.Activities.Llm;

namespace ModelServeShim.Security;

/// <summary>
/// The permission check's view of the API keys: a key's roles by its name, from the configured keys (<c>Auth:ApiKeys</c>)
/// as they are now. Without keys every caller is the admin <c>anonymous</c>, as the authentication handler treats them.
/// </summary>
public sealed class RequesterDirectory(IOptionsMonitor<AuthOptions> auth) : IRequesterDirectory
{
    /// <inheritdoc />
    public IReadOnlyList<string> RolesOf(string name)
    {
        var keys = auth.CurrentValue.ApiKeys;
        if (keys.Count == 0)
        {
            return name == ApiKeyAuthenticationHandler.Anonymous ? [.. Roles.Implied(Roles.Admin)] : [];
        }

        var key = keys.Find(k => string.Equals(k.Name, name, StringComparison.Ordinal));
        return key is null ? [] : [.. Roles.Implied(key.Role)];
    }
}
