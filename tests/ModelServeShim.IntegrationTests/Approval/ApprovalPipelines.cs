using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>
/// The test pipelines: the built-in <c>opensourcellm</c> with an <c>ModelServeShim.Approval</c> step after model-validation
/// (deploy → approval → config-rendering → apply → health-check). Rejected and TimedOut lead to a Fail step that names
/// the decision, so the service ends Failed with the approver's comment.
/// </summary>
public static class ApprovalPipelines
{
    /// <summary>Waits for a decision as long as it takes.</summary>
    public const string Waiting = "approval-llm";

    /// <summary>Times out after 2 s.</summary>
    public const string Short = "approval-llm-2s";

    /// <summary>Writes both pipelines into <paramref name="workflowsDir"/>.</summary>
    public static void WriteTo(string workflowsDir)
    {
        File.WriteAllText(Path.Combine(workflowsDir, $"{Waiting}.json"), Build(Waiting, null));
        File.WriteAllText(Path.Combine(workflowsDir, $"{Short}.json"), Build(Short, "2s"));
    }

    /// <summary>The pipeline <paramref name="id"/>, with the approval's timeout if given.</summary>
    public static string Build(string id, string? timeout)
    {
        var pipeline = JsonNode.Parse(File.ReadAllText(Path.Combine(ModServFactory.RepositoryRoot, "workflows", "opensourcellm.json")))!.AsObject();
        pipeline["definitionId"] = id;
        pipeline["name"] = $"Open-source LLM with approval ({id})";
        var root = pipeline["root"]!;
        var activities = root["activities"]!.AsArray();
        var approvalInputs = new JsonObject { ["requiredRole"] = "approver", ["subject"] = "Deploy {{ input.modelName }} ({{ input.serviceId }})" };
        if (timeout is not null)
        {
            approvalInputs["timeout"] = timeout;
        }

        activities.Add(new JsonObject { ["id"] = "approval", ["type"] = "ModelServeShim.Approval", ["displayName"] = "Approval", ["inputs"] = approvalInputs });
        activities.Add(new JsonObject
        {
            ["id"] = "rejected", ["type"] = "ModelServeShim.Fail",
            ["inputs"] = new JsonObject { ["errorType"] = "ApprovalRejected", ["retryable"] = false, ["message"] = "Rejected by {{ steps.approval.output.by }}: {{ steps.approval.output.comment }}" },
        });
        activities.Add(new JsonObject
        {
            ["id"] = "timed-out", ["type"] = "ModelServeShim.Fail",
            ["inputs"] = new JsonObject { ["errorType"] = "ApprovalTimedOut", ["retryable"] = false, ["message"] = "Nobody approved the deployment in time." },
        });

        var connections = root["connections"]!.AsArray();
        var toRendering = connections.Single(c => (string?)c!["source"]!["activity"] == "model-validation" && (string?)c["target"]!["activity"] == "config-rendering")!;
        toRendering["target"]!["activity"] = "approval";
        connections.Add(Edge("approval", "Approved", "config-rendering"));
        connections.Add(Edge("approval", "Rejected", "rejected"));
        connections.Add(Edge("approval", "TimedOut", "timed-out"));
        return pipeline.ToJsonString();
    }

    private static JsonObject Edge(string from, string port, string to) => new()
    {
        ["source"] = new JsonObject { ["activity"] = from, ["port"] = port },
        ["target"] = new JsonObject { ["activity"] = to },
    };
}
