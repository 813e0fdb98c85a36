using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ModelServeShim.Gateway;
using ModelServeShim.Hosting;

namespace ModelServeShim.Security;

/// <summary>
/// Roles: <c>viewer</c>, <c>operator</c>, <c>admin</c> from least to most privileged, and <c>consumer</c> and <c>approver</c>
/// (a viewer who may approve) beside them.
/// </summary>
public static class Roles
{
    /// <summary>Calls the OpenAI-compatible gateway (<c>/v1</c>) and nothing else.</summary>
    public const string Consumer = "consumer";

    /// <summary>Reads everything.</summary>
    public const string Viewer = "viewer";

    /// <summary>Also deploys, scales, cancels, and edits pipelines.</summary>
    public const string Operator = "operator";

    /// <summary>Also loads plugins and deletes definitions.</summary>
    public const string Admin = "admin";

    /// <summary>A viewer that may also approve or reject pipelines waiting for approval (admins may too; operators may not).</summary>
    public const string Approver = "approver";

    /// <summary>The ranked roles, least privileged first (a consumer is not among them: it has no rank).</summary>
    public static readonly IReadOnlyList<string> All = [Viewer, Operator, Admin];

    /// <summary>
    /// The roles a role implies (an admin is also an operator, a viewer and an approver; an approver is also a viewer; a
    /// consumer is only a consumer).
    /// </summary>
    public static IEnumerable<string> Implied(string role) => role switch
    {
        Consumer => [Consumer],
        Approver => [Viewer, Approver],
        Admin => [.. All, Approver],
        _ => All.Take(All.ToList().IndexOf(role) + 1),
    };
}

/// <summary>Authorization policy names.</summary>
public static class Policies
{
    /// <summary>Any authenticated caller.</summary>
    public const string View = "view";

    /// <summary>Operators and admins.</summary>
    public const string Operate = "operate";

    /// <summary>Admins.</summary>
    public const string Administer = "administer";

    /// <summary>The OpenAI-compatible gateway: consumers and every ranked role.</summary>
    public const string Consume = "consume";
}

/// <summary>Which models a key may use through the gateway (<see cref="ApiKeyOptions.Models"/>).</summary>
public static class ModelAccess
{
    /// <summary>The claim that carries one of the key's model globs; a key without any may use every model.</summary>
    public const string ClaimType = "modelserveshim:model";

    /// <summary>True when the caller may use <paramref name="modelName"/>.</summary>
    public static bool Allows(ClaimsPrincipal user, string modelName)
    {
        ArgumentNullException.ThrowIfNull(user);
        var any = false;
        foreach (var claim in user.FindAll(ClaimType))
        {
            any = true;
            if (GlobMatches(claim.Value, modelName))
            {
                return true;
            }
        }

        return !any;
    }

    /// <summary>
    /// <c>*</c> matches any run of characters (including <c>/</c>, which model names often contain), <c>?</c> one;
    /// everything else itself, case-sensitive. The framework's simple-expression matcher does the work.
    /// </summary>
    public static bool GlobMatches(string glob, string text)
    {
        ArgumentNullException.ThrowIfNull(glob);
        ArgumentNullException.ThrowIfNull(text);
        return System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(glob, text, ignoreCase: false);
    }
}

/// <summary>One API key (section <c>Auth:ApiKeys</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The key's name: recorded as the operator on everything it does.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", ErrorMessage = "An API key name is 1-64 letters, digits, '.', '_', '@' or '-'.")]
    public string Name { get; set; } = "";

    /// <summary>The key's hash: <c>sha256:&lt;hex&gt;</c>, from <c>model-serve-shim keys hash &lt;key&gt;</c>.</summary>
    [Required]
    [RegularExpression("^sha256:[0-9a-f]{64}$", ErrorMessage = "KeyHash must be 'sha256:' and 64 lower-case hex digits; run 'model-serve-shim keys hash <key>'.")]
    public string KeyHash { get; set; } = "";

    /// <summary><c>viewer</c>, <c>operator</c>, <c>admin</c>, <c>approver</c> (a viewer who may approve), or <c>consumer</c> (the gateway <c>/v1</c> only).</summary>
    [Required]
    [RegularExpression("^(viewer|operator|admin|approver|consumer)$", ErrorMessage = "Role must be viewer, operator, admin, approver or consumer.")]
    public string Role { get; set; } = Roles.Viewer;

    /// <summary>
    /// The models the key may use through the gateway, as globs of model names (<c>llama-*</c>); empty (the default)
    /// for every model. The control plane's own API is not limited by it.
    /// </summary>
    public List<string> Models { get; set; } = [];
}

/// <summary>Authentication settings (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Auth";

    /// <summary>The accepted keys. With none, the server accepts anonymous requests only on loopback.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];
}

/// <summary>Checks every configured key and the loopback rule at start.</summary>
public sealed class AuthOptionsValidator(IOptions<ShimOptions> shim) : IValidateOptions<AuthOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(options.ApiKeys[i], new ValidationContext(options.ApiKeys[i]), results, validateAllProperties: true))
            {
                failures.AddRange(results.Select(r => $"Auth:ApiKeys:{i}: {r.ErrorMessage}"));
            }
        }

        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var bad = options.ApiKeys[i].Models.FirstOrDefault(m => string.IsNullOrWhiteSpace(m) || m.Length > 128 || m.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '*' or '?')));
            if (bad is not null)
            {
                failures.Add($"Auth:ApiKeys:{i}:Models: '{bad}' is not a model glob: use letters, digits, '-', '.', '_', '*' and '?' (up to 128), e.g. 'llama-*'.");
            }
        }

        var duplicate = options.ApiKeys.GroupBy(k => k.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            failures.Add($"Auth:ApiKeys: the name '{duplicate.Key}' is used by more than one key.");
        }

        if (options.ApiKeys.Count == 0 && !shim.Value.IsLoopbackOnly)
        {
            failures.Add($"No API keys are configured (Auth:ApiKeys) but the server would listen on '{shim.Value.ListenAddress}'. "
                + "Configure at least one key, or listen on localhost (--listen=localhost).");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}

/// <summary>Hashes API keys for configuration.</summary>
public static class ApiKeyHasher
{
    /// <summary>The stored form of a key: <c>sha256:&lt;hex&gt;</c>.</summary>
    public static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c>, <c>Authorization: ApiKey &lt;key&gt;</c> (Elsa Studio) or <c>X-Api-Key: &lt;key&gt;</c> against the configured
/// hashes (compared in constant time). With no keys configured (allowed on loopback only), every request is
/// the admin <c>anonymous</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The operator name of unauthenticated loopback requests.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>The header a key may also come in.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var keys = auth.Value.ApiKeys;
        if (keys.Count == 0)
        {
            return Task.FromResult(Success(Anonymous, Roles.Admin, []));
        }

        string? presented = null;
        var header = Request.Headers.Authorization.FirstOrDefault();
        if (header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = header["Bearer ".Length..].Trim();
        }
        else if (header is not null && header.StartsWith("ApiKey ", StringComparison.OrdinalIgnoreCase))
        {
            // Elsa Studio's api-key attribute sends 'Authorization: ApiKey <key>'.
            presented = header["ApiKey ".Length..].Trim();
        }
        else if (Request.Headers.TryGetValue(ApiKeyHeader, out var apiKey))
        {
            presented = apiKey.FirstOrDefault();
        }
        else if (Request.Path.StartsWithSegments("/api") && Request.Query.TryGetValue("access_token", out var token)
            && Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.Ordinal) == true))
        {
            // Browsers' EventSource cannot set headers: allow the key as a query parameter for event streams only.
            presented = token.FirstOrDefault();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var hash = Encoding.ASCII.GetBytes(ApiKeyHasher.Hash(presented));
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(key.KeyHash)))
            {
                return Task.FromResult(Success(key.Name, key.Role, key.Models));
            }
        }

        return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        if (IsGateway)
        {
            // OpenAI clients read errors in their own shape.
            await OpenAiErrors.Result(401, OpenAiErrors.Types.Authentication, OpenAiErrors.Codes.InvalidApiKey, null,
                "Send a valid API key as 'Authorization: Bearer <key>' (the OpenAI SDKs' api_key).").ExecuteAsync(Context);
            return;
        }

        await Results.Problem(
            statusCode: 401,
            title: "Authentication required",
            detail: "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.").ExecuteAsync(Context);
    }

    /// <inheritdoc />
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var role = Context.User.FindAll(ClaimTypes.Role).LastOrDefault()?.Value;
        if (IsGateway)
        {
            await OpenAiErrors.Result(403, OpenAiErrors.Types.Permission, null, null,
                $"Your key's role ({role}) may not call the gateway.").ExecuteAsync(Context);
            return;
        }

        await Results.Problem(
            statusCode: 403,
            title: "Forbidden",
            detail: $"Your key's role ({role}) does not allow this request; ask an admin for a key with a higher role.").ExecuteAsync(Context);
    }

    private bool IsGateway => Request.Path.StartsWithSegments(GatewayPaths.Base);

    private AuthenticateResult Success(string name, string role, IEnumerable<string> models)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        claims.AddRange(Roles.Implied(role).Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(models.Select(m => new Claim(ModelAccess.ClaimType, m)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}

/// <summary>Who is asking.</summary>
public static class OperatorExtensions
{
    /// <summary>The operator name recorded on deploys, transitions and journal entries.</summary>
    public static string OperatorName(this ClaimsPrincipal user) =>
        user?.Identity?.Name ?? ApiKeyAuthenticationHandler.Anonymous;
}
