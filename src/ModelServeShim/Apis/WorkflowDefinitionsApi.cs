using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelServeShim.Apis.Elsa;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis;

/// <summary>A definition version in lists.</summary>
public sealed record DefinitionSummary(
    string DefinitionId, int Version, string? Name, string? Description, string Source, string CreatedBy, DateTimeOffset CreatedAt, bool IsLatest)
{
    internal static DefinitionSummary From(DefinitionRecord r) =>
        new(r.DefinitionId, r.Version, r.Name, r.Description, r.Source, r.CreatedBy, r.CreatedAt, r.IsLatest);
}

/// <summary>The result of a save.</summary>
/// <param name="Definition">The stored version.</param>
/// <param name="Created">False when the content equalled the latest version.</param>
public sealed record SaveDefinitionResponse(DefinitionSummary Definition, bool Created);

/// <summary>The result of a validation.</summary>
/// <param name="Valid">Whether it is valid.</param>
/// <param name="Errors">The problems, each with its JSON path.</param>
public sealed record ValidationResponse(bool Valid, IReadOnlyList<ValidationError> Errors);

/// <summary>A request to start an instance.</summary>
/// <param name="Input">The input.</param>
/// <param name="Version">A version (default: latest).</param>
/// <param name="CorrelationId">A caller's id.</param>
public sealed record ExecuteRequest(JsonObject? Input, int? Version, string? CorrelationId);

/// <summary><c>/api/v1/workflow-definitions</c>.</summary>
public static class WorkflowDefinitionsApi
{
    private const int MaxDefinitionBytes = 1024 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapWorkflowDefinitionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflow-definitions").WithTags("Workflow definitions").RequireAuthorization(Policies.View);
        group.MapGet("/", ListAsync).WithName("ListWorkflowDefinitions").WithSummary("The latest version of every definition.");
        group.MapPost("/", CreateAsync).WithName("SaveWorkflowDefinition").RequireAuthorization(Policies.Operate)
            .WithSummary("Validates and saves a definition (JSON body); changed content becomes a new version.")
            .Accepts<JsonObject>("application/json");
        group.MapPost("/validate", ValidateAsync).WithName("ValidateWorkflowDefinition")
            .WithSummary("Validates a definition without saving it.").Accepts<JsonObject>("application/json");
        group.MapPost("/import", ImportAsync).WithName("ImportWorkflowDefinition").RequireAuthorization(Policies.Operate)
            .WithSummary("Imports a definition file (multipart field 'file', or a JSON body): this server's JSON or an Elsa 3 workflow definition export.").DisableAntiforgery();
        group.MapGet("/{definitionId}", GetAsync).WithName("GetWorkflowDefinition")
            .WithSummary("A definition's JSON (latest version, or ?version=N).");
        group.MapGet("/{definitionId}/export", ExportAsync).WithName("ExportWorkflowDefinition")
            .WithSummary("Downloads a definition as a .json file; ?format=elsa as an Elsa 3 workflow definition.");
        group.MapPut("/{definitionId}", PutAsync).WithName("UpdateWorkflowDefinition").RequireAuthorization(Policies.Operate)
            .WithSummary("Saves a new version of a definition.").Accepts<JsonObject>("application/json");
        group.MapDelete("/{definitionId}", DeleteAsync).WithName("DeleteWorkflowDefinition").RequireAuthorization(Policies.Administer)
            .WithSummary("Deletes a definition: no new instances; running ones finish on their version.");
        group.MapGet("/{definitionId}/versions", VersionsAsync).WithName("ListWorkflowDefinitionVersions")
            .WithSummary("All versions of a definition, newest first.");
        group.MapPost("/{definitionId}/execute", ExecuteAsync).WithName("ExecuteWorkflowDefinition").RequireAuthorization(Policies.Operate)
            .WithSummary("Starts an instance; returns at once with its id.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<DefinitionSummary>>> ListAsync(DefinitionStore store, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<DefinitionSummary>>([.. (await store.ListLatestAsync(ct)).Select(DefinitionSummary.From)]);

    private static async Task<Results<Created<SaveDefinitionResponse>, Ok<SaveDefinitionResponse>, ProblemHttpResult>> CreateAsync(
        HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(request, MaxDefinitionBytes, ct);
        return await SaveAsync(body, null, "api", request, store, ct);
    }

    private static async Task<Results<Created<SaveDefinitionResponse>, Ok<SaveDefinitionResponse>, ProblemHttpResult>> PutAsync(
        string definitionId, HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(request, MaxDefinitionBytes, ct);
        return await SaveAsync(body, definitionId, "api", request, store, ct);
    }

    private static async Task<Results<Created<SaveDefinitionResponse>, Ok<SaveDefinitionResponse>, ProblemHttpResult>> ImportAsync(
        HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        string? body;
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(ct);
            }
            catch (Exception e) when (e is InvalidDataException || (e is IOException && e is not BadHttpRequestException))
            {
                // Over the multipart limit, no boundary, or cut short: the caller's mistake, not ours.
                return Problems.BadRequest("file", $"The multipart body could not be read ({e.Message}); send one field named 'file' of at most {MaxDefinitionBytes} bytes.");
            }

            var file = form.Files.GetFile("file");
            if (file is null)
            {
                return Problems.BadRequest("file", "Send the definition as a multipart field named 'file'.");
            }

            if (file.Length > MaxDefinitionBytes)
            {
                return Problems.BadRequest("file", $"The file is larger than {MaxDefinitionBytes} bytes.");
            }

            using var reader = new StreamReader(file.OpenReadStream());
            body = await reader.ReadToEndAsync(ct);
        }
        else
        {
            body = await Problems.ReadBodyAsync(request, MaxDefinitionBytes, ct);
        }

        if (body is not null && ElsaImport.IsElsaModel(body, out var model))
        {
            // An Elsa 3 export (or Studio's model): mapped to our definition, then saved like any other.
            var mapper = request.HttpContext.RequestServices.GetRequiredService<ElsaDefinitionMapper>();
            var mapped = mapper.FromModel(model!, out var errors);
            return mapped is null
                ? Problems.Validation("The Elsa workflow cannot be imported", errors)
                : await SaveDefinitionAsync(mapped, "import", request, store, ct);
        }

        return await SaveAsync(body, null, "import", request, store, ct);
    }

    private static async Task<Results<Created<SaveDefinitionResponse>, Ok<SaveDefinitionResponse>, ProblemHttpResult>> SaveAsync(
        string? body, string? pathId, string source, HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        if (body is null)
        {
            return Problems.BadRequest("$", $"The definition is larger than {MaxDefinitionBytes} bytes.");
        }

        var definition = DefinitionJson.Parse(body, out var error);
        if (definition is null)
        {
            return Problems.Validation("The definition is not valid JSON of the expected shape", [error!]);
        }

        if (pathId is not null)
        {
            if (definition.DefinitionId.Length == 0)
            {
                definition = definition with { DefinitionId = pathId };
            }
            else if (definition.DefinitionId != pathId)
            {
                return Problems.BadRequest("$.definitionId", $"The body's definitionId '{definition.DefinitionId}' differs from the URL's '{pathId}': make them equal.");
            }
        }

        return await SaveDefinitionAsync(definition, source, request, store, ct);
    }

    private static async Task<Results<Created<SaveDefinitionResponse>, Ok<SaveDefinitionResponse>, ProblemHttpResult>> SaveDefinitionAsync(
        WorkflowDefinition definition, string source, HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        try
        {
            var saved = await store.SaveAsync(definition, source, request.HttpContext.User.OperatorName(), ct);
            var response = new SaveDefinitionResponse(DefinitionSummary.From(saved.Record), saved.Created);
            return saved.Created
                ? TypedResults.Created($"/api/v1/workflow-definitions/{saved.Record.DefinitionId}?version={saved.Record.Version}", response)
                : TypedResults.Ok(response);
        }
        catch (DefinitionInvalidException e)
        {
            return Problems.Validation("The definition is invalid", e.Errors);
        }
    }

    private static async Task<Ok<ValidationResponse>> ValidateAsync(HttpRequest request, DefinitionStore store, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(request, MaxDefinitionBytes, ct);
        if (body is null)
        {
            return TypedResults.Ok(new ValidationResponse(false, [new ValidationError("$", $"The definition is larger than {MaxDefinitionBytes} bytes.")]));
        }

        var definition = DefinitionJson.Parse(body, out var error);
        if (definition is null)
        {
            return TypedResults.Ok(new ValidationResponse(false, [error!]));
        }

        var errors = store.Validate(definition);
        return TypedResults.Ok(new ValidationResponse(errors.Count == 0, errors));
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetAsync(
        string definitionId, [FromQuery] int? version, DefinitionStore store, CancellationToken ct)
    {
        var record = await store.GetAsync(definitionId, version, ct);
        return record is null ? NotFound(definitionId, version) : TypedResults.Content(record.Json, "application/json");
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportAsync(
        string definitionId, [FromQuery] int? version, [FromQuery] string? format, DefinitionStore store, ElsaDefinitionMapper elsa, CancellationToken ct)
    {
        if (format is not (null or "native" or "elsa"))
        {
            return Problems.BadRequest("format", $"Unknown format '{format}': use 'elsa' (an Elsa 3 workflow definition) or leave it out (this server's own JSON).");
        }

        var record = await store.GetAsync(definitionId, version, ct);
        if (record is null)
        {
            return NotFound(definitionId, version);
        }

        if (format == "elsa")
        {
            var model = elsa.ToModel(DefinitionJson.Parse(record.Json, out _)!, record);
            return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(model, DefinitionJson.Options), "application/json", $"{record.DefinitionId}.elsa.json");
        }

        // Exported without its version: the file is the source, the server assigns versions.
        var node = JsonNode.Parse(record.Json)!.AsObject();
        node.Remove("version");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(node, DefinitionJson.Options);
        return TypedResults.File(bytes, "application/json", $"{record.DefinitionId}.json");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string definitionId, DefinitionStore store, CancellationToken ct) =>
        await store.DeleteAsync(definitionId, ct) ? TypedResults.NoContent() : NotFound(definitionId, null);

    private static async Task<Results<Ok<IReadOnlyList<DefinitionSummary>>, ProblemHttpResult>> VersionsAsync(
        string definitionId, DefinitionStore store, CancellationToken ct)
    {
        var versions = await store.ListVersionsAsync(definitionId, ct);
        return versions.Count == 0
            ? NotFound(definitionId, null)
            : TypedResults.Ok<IReadOnlyList<DefinitionSummary>>([.. versions.Select(DefinitionSummary.From)]);
    }

    private static async Task<Results<Accepted<InstanceSummary>, ProblemHttpResult>> ExecuteAsync(
        string definitionId, ExecuteRequest? body, HttpContext http, WorkflowEngine engine, CancellationToken ct)
    {
        if (body?.CorrelationId is { Length: > 128 })
        {
            return Problems.BadRequest("$.correlationId", "correlationId is limited to 128 characters.");
        }

        try
        {
            var record = await engine.StartAsync(new StartRequest(definitionId, body?.Input, http.User.OperatorName(), body?.Version, body?.CorrelationId), ct);
            return TypedResults.Accepted($"/api/v1/workflow-instances/{record.Id}", InstanceSummary.From(record));
        }
        catch (DefinitionNotFoundException e)
        {
            return Problems.NotFound(e.Message);
        }
        catch (InputInvalidException e)
        {
            return Problems.Validation("The input does not match the definition's inputs", e.Errors);
        }
    }

    private static ProblemHttpResult NotFound(string definitionId, int? version) => Problems.NotFound(version is null
        ? $"No workflow definition '{definitionId}'. GET /api/v1/workflow-definitions lists them."
        : $"Workflow definition '{definitionId}' has no version {version}. GET /api/v1/workflow-definitions/{definitionId}/versions lists them.");
}
