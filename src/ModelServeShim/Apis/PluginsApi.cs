using Microsoft.AspNetCore.Http.HttpResults;
using ModelServeShim.ControlPlane;
using ModelServeShim.Plugins;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Apis;

/// <summary><c>/api/v1/plugins</c>: loaded shimlets, pipelines and plugin assemblies; hot-loading.</summary>
public static class PluginsApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapPluginsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/plugins").WithTags("Plugins");
        group.MapGet("/", ListAsync).RequireAuthorization(Policies.View)
            .WithName("ListPlugins")
            .WithSummary("Loaded shimlets (built in and from plugins), pipelines (workflow definitions) and plugin assemblies.");
        group.MapPost("/load", Load).RequireAuthorization(Policies.Administer)
            .WithName("LoadPlugin")
            .WithSummary("Loads <Plugins:Directory>/<name>/<name>.dll without a restart, replacing a loaded version of the same plugin.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    private static async Task<Ok<PluginsResponse>> ListAsync(ShimletProvider shimlets, PluginLoader loader, DefinitionStore definitions, CancellationToken ct)
    {
        var shimletList = shimlets.Names
            .Select(n => shimlets.Find(n))
            .OfType<Abstractions.Shimlets.IShimlet>()
            .Select(s => loader.OwnerOf(s) is { } p
                ? new ShimletEntry(s.Name, $"plugin:{p.Name}", PluginLoader.VersionOf(s), p.LoadedAt)
                : new ShimletEntry(s.Name, "builtin", PluginLoader.VersionOf(s), loader.StartedAt))
            .ToList();
        var pipelines = (await definitions.ListLatestAsync(ct))
            .Select(d => new PipelineEntry(d.DefinitionId, d.Version, d.Source, d.CreatedAt))
            .ToList();
        return TypedResults.Ok(new PluginsResponse(shimletList, pipelines, loader.Plugins));
    }

    private static Results<Ok<PluginInfo>, ProblemHttpResult> Load(LoadPluginRequest? request, PluginLoader loader)
    {
        if (string.IsNullOrWhiteSpace(request?.Name))
        {
            return Problems.BadRequest("name", "name is required: the plugin's folder name in the plugins directory.");
        }

        try
        {
            return TypedResults.Ok(loader.Load(request.Name));
        }
        catch (PluginLoadException e)
        {
            return e.Error switch
            {
                PluginLoadError.InvalidName => Problems.BadRequest("name", e.Message),
                PluginLoadError.NotFound => Problems.NotFound(e.Message),
                PluginLoadError.Conflict => Problems.Conflict(e.Message),
                PluginLoadError.ContractMismatch => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Plugin contract mismatch", detail: e.Message),
                _ => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Plugin cannot be loaded", detail: e.Message),
            };
        }
    }
}

/// <summary>The body of <c>POST /api/v1/plugins/load</c>.</summary>
/// <param name="Name">The plugin's folder name in the plugins directory.</param>
public sealed record LoadPluginRequest(string? Name);

/// <summary>What <c>GET /api/v1/plugins</c> answers.</summary>
public sealed record PluginsResponse(IReadOnlyList<ShimletEntry> Shimlets, IReadOnlyList<PipelineEntry> Pipelines, IReadOnlyList<PluginInfo> Plugins);

/// <summary>A registered shimlet.</summary>
/// <param name="Name">The name deployments select it by.</param>
/// <param name="Source"><c>builtin</c> or <c>plugin:&lt;name&gt;</c>.</param>
/// <param name="Version">Its assembly's version.</param>
/// <param name="LoadedAt">When it was registered (host start for built-in ones).</param>
public sealed record ShimletEntry(string Name, string Source, string Version, DateTimeOffset LoadedAt);

/// <summary>A pipeline: the latest version of a workflow definition.</summary>
/// <param name="Name">The definition id (<c>--pipeline</c>, <c>"pipeline"</c>).</param>
/// <param name="Version">The latest version.</param>
/// <param name="Source">Where it came from: <c>file</c> (workflows/*.json, reloaded on change) or <c>api</c>.</param>
/// <param name="LoadedAt">When that version was stored.</param>
public sealed record PipelineEntry(string Name, int Version, string Source, DateTimeOffset LoadedAt);
