using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelServeShim.Gateway;
using ModelServeShim.Security;

namespace ModelServeShim.Apis;

/// <summary>The OpenAI model list: <c>{"object": "list", "data": [...]}</c>.</summary>
public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelCard> Data);

/// <summary>One served model as OpenAI lists it, with the service behind it.</summary>
/// <param name="Id">The model name (what requests send as <c>model</c>).</param>
/// <param name="Object">Always <c>model</c>.</param>
/// <param name="Created">When the service was deployed (Unix seconds).</param>
/// <param name="OwnedBy">Always <c>modelserveshim</c>.</param>
/// <param name="ServiceId">The service id (also accepted as <c>model</c>).</param>
/// <param name="State">Running or Degraded.</param>
public sealed record ModelCard(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy,
    [property: JsonPropertyName("service_id")] string ServiceId,
    [property: JsonPropertyName("state")] string State);

/// <summary>
/// <c>/v1</c>: one OpenAI-compatible endpoint for every deployed model. Requests are routed by their <c>model</c> (a
/// model name or a service id) to a ready replica of a Running or Degraded service (docs/gateway.md).
/// </summary>
public static class GatewayApi
{
    /// <summary>The owner every listed model shows.</summary>
    public const string Owner = "modelserveshim";

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(GatewayPaths.Base).WithTags("OpenAI-compatible gateway").RequireAuthorization(Policies.Consume);
        group.MapGet("/models", ListModelsAsync).WithName("ListModels")
            .WithSummary("The models served now (Running or Degraded services) in the OpenAI list shape; a key limited to some models sees those.");
        group.MapPost("/chat/completions", (HttpContext context, GatewayForwarder forwarder) => forwarder.ForwardAsync(context, "chat/completions"))
            .WithName("CreateChatCompletion").WithSummary("Forwarded to a replica of the service the body's model names; streams pass through.")
            .Produces(200).Produces<OpenAiErrorResponse>(400).Produces<OpenAiErrorResponse>(404).Produces<OpenAiErrorResponse>(503);
        group.MapPost("/completions", (HttpContext context, GatewayForwarder forwarder) => forwarder.ForwardAsync(context, "completions"))
            .WithName("CreateCompletion").WithSummary("Forwarded to a replica of the service the body's model names; streams pass through.")
            .Produces(200).Produces<OpenAiErrorResponse>(400).Produces<OpenAiErrorResponse>(404).Produces<OpenAiErrorResponse>(503);
        group.MapPost("/embeddings", (HttpContext context, GatewayForwarder forwarder) => forwarder.ForwardAsync(context, "embeddings"))
            .WithName("CreateEmbedding").WithSummary("Forwarded to a replica of the service the body's model names.")
            .Produces(200).Produces<OpenAiErrorResponse>(400).Produces<OpenAiErrorResponse>(404).Produces<OpenAiErrorResponse>(503);
        return app;
    }

    private static async Task<Ok<ModelList>> ListModelsAsync(ClaimsPrincipal user, GatewayRouteTable routes, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var services = await routes.ListAsync(cancellationToken);
        var cards = services
            .Where(s => s.IsServing && ModelAccess.Allows(user, s.ModelName))
            .OrderBy(s => s.ModelName, StringComparer.Ordinal)
            .Select(s => new ModelCard(s.ModelName, "model", s.CreatedAt.ToUnixTimeSeconds(), Owner, s.ServiceId, s.State.ToString()))
            .ToList();
        GatewayMetrics.Request(null, "models", StatusCodes.Status200OK, time.GetElapsedTime(started));
        return TypedResults.Ok(new ModelList("list", cards));
    }
}
