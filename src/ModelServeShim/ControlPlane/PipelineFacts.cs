using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>What a deploy pipeline reported about its service (see <see cref="OutputKinds"/>).</summary>
/// <param name="Endpoint">The service's base URL.</param>
/// <param name="ModelFacts">The model's facts.</param>
/// <param name="MemoryEstimate">The memory estimate.</param>
/// <param name="ResourceIds">The environment's resource ids.</param>
/// <param name="DryRun">True when the pipeline deployed nothing on purpose.</param>
/// <param name="DeploymentSpec">The rendered deployment spec.</param>
public sealed record PipelineFacts(
    string? Endpoint, JsonNode? ModelFacts, JsonNode? MemoryEstimate, JsonArray? ResourceIds, bool DryRun, JsonNode? DeploymentSpec)
{
    /// <summary>No facts (no pipeline ran).</summary>
    public static readonly PipelineFacts None = new(null, null, null, null, false, null);
}

/// <summary>
/// Reads <see cref="PipelineFacts"/> from a pipeline instance's final step outputs, by the kind each activity declares
/// for its outputs (<c>[Output(…, Kind = OutputKinds.Endpoint)]</c>), never by activity type or step name: a pipeline
/// of any activities, plugins' included, fills the service view. When several steps set a kind, the last to start wins.
/// </summary>
public sealed class PipelineFactsReader(IDbContextFactory<WorkflowDbContext> workflowDb, ActivityRegistry activities)
{
    /// <summary>The facts of <paramref name="instanceId"/>; <see cref="PipelineFacts.None"/> when it is null.</summary>
    public async Task<PipelineFacts> ReadAsync(string? instanceId, CancellationToken cancellationToken)
    {
        if (instanceId is null)
        {
            return PipelineFacts.None;
        }

        await using var context = await workflowDb.CreateDbContextAsync(cancellationToken);
        var rows = await context.StepExecutions.AsNoTracking()
            .Where(s => s.InstanceId == instanceId && s.IsFinal && s.OutputJson != null)
            .Select(s => new { s.ActivityType, s.OutputJson, s.StartedAt })
            .ToListAsync(cancellationToken);
        var byKind = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var row in rows.OrderBy(r => r.StartedAt))
        {
            if (!activities.TryGet(row.ActivityType, out var descriptor) || JsonNode.Parse(row.OutputJson!) is not JsonObject output)
            {
                continue;
            }

            foreach (var declared in descriptor.Outputs.Where(o => o.Kind is not null))
            {
                if (output[declared.Name] is { } value)
                {
                    byKind[declared.Kind!] = value.DeepClone();
                }
            }
        }

        return new PipelineFacts(
            byKind.GetValueOrDefault(OutputKinds.Endpoint) is JsonValue endpoint && endpoint.TryGetValue<string>(out var url) ? url : null,
            byKind.GetValueOrDefault(OutputKinds.ModelFacts),
            byKind.GetValueOrDefault(OutputKinds.MemoryEstimate),
            byKind.GetValueOrDefault(OutputKinds.ResourceIds) as JsonArray,
            byKind.GetValueOrDefault(OutputKinds.DryRun) is JsonValue dryRun && dryRun.TryGetValue<bool>(out var dry) && dry,
            byKind.GetValueOrDefault(OutputKinds.DeploymentSpec));
    }
}
