using System.Security.Claims;
using Microsoft.Extensions.Options;
using ModelServeShim.Hosting;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Apis;

/// <summary>Who the caller is, for the web UI.</summary>
/// <param name="Name">The key's name (<c>anonymous</c> when no keys are configured).</param>
/// <param name="Roles">The roles the caller holds, least privileged first (viewer, operator, admin).</param>
/// <param name="AuthRequired">True when API keys are configured, so every API call needs one.</param>
public sealed record CallerInfo(string Name, IReadOnlyList<string> Roles, bool AuthRequired);

/// <summary>Health, version and the definition schema.</summary>
public static class SystemApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapSystemApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).WithTags("System").AllowAnonymous()
            .WithName("Health").WithSummary("Liveness: answers 200 while the server runs.");
        var group = app.MapGroup("/api/v1").WithTags("System").RequireAuthorization(Policies.View);
        group.MapGet("/version", () => TypedResults.Ok(new { version = CommandLine.VersionLine }))
            .WithName("GetVersion").WithSummary("The server's version line.");
        group.MapGet("/me", (ClaimsPrincipal user, IOptions<AuthOptions> auth) => TypedResults.Ok(new CallerInfo(
                user.OperatorName(),
                [.. Roles.All.Append(Roles.Approver).Where(user.IsInRole)],
                auth.Value.ApiKeys.Count > 0)))
            .WithName("GetCaller").WithSummary("The caller's name, roles (viewer, operator, admin cumulative; approver for admins and approvers) and whether the server requires API keys.");
        group.MapGet("/schemas/workflow-definition.json", () =>
        {
            var stream = typeof(SystemApi).Assembly.GetManifestResourceStream("workflow-definition.schema.json")!;
            return TypedResults.Stream(stream, "application/schema+json");
        }).WithName("GetWorkflowDefinitionSchema").WithSummary("The JSON Schema of workflow definitions.");
        group.MapGet("/workflow-files", (WorkflowFileLoader loader) => TypedResults.Ok(new { directory = loader.DirectoryPath, files = loader.Files }))
            .WithName("ListWorkflowFiles").WithSummary("The definitions loaded from the workflows folder, and why any file was refused.");
        return app;
    }
}
