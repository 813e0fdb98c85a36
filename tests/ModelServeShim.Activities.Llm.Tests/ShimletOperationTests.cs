using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>Shimlet operations as pipeline steps, each with its own retry and timeout.</summary>
public class ShimletOperationTests
{
    private const string Pipeline = """
        {
          "definitionId": "ops",
          "inputs": [ { "name": "serviceId", "type": "string", "required": true } ],
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "scale", "type": "ModelServeShim.Shimlet.Scale", "inputs": { "shimlet": "test", "serviceId": "{{ input.serviceId }}", "replicas": 3 },
                "retry": { "maxAttempts": 2, "delay": "1s" }, "timeout": "30s" },
              { "id": "status", "type": "ModelServeShim.Shimlet.Status", "inputs": { "shimlet": "test", "serviceId": "{{ input.serviceId }}" } },
              { "id": "logs", "type": "ModelServeShim.Shimlet.Logs", "inputs": { "shimlet": "test", "serviceId": "{{ input.serviceId }}", "tailLines": 2 } },
              { "id": "delete", "type": "ModelServeShim.Shimlet.Delete", "inputs": { "shimlet": "test", "serviceId": "{{ input.serviceId }}" }, "timeout": "1m" }
            ],
            "connections": [
              { "source": { "activity": "scale" }, "target": { "activity": "status" } },
              { "source": { "activity": "status" }, "target": { "activity": "logs" } },
              { "source": { "activity": "logs" }, "target": { "activity": "delete" } }
            ]
          }
        }
        """;

    [Fact]
    public async Task ShimletOperations_AsSteps_ScaleReadStatusAndLogsThenDelete()
    {
        await using var h = await LlmHarness.StartAsync();
        h.Shimlet.Script = [TestShimlet.Running(new Uri("http://127.0.0.1:1/"), replicas: 3)];
        h.Shimlet.LogLines = ["one", "two", "three"];
        await h.SaveAsync(Pipeline);

        var instance = await h.RunAsync("ops", new JsonObject { ["serviceId"] = "svc-1" });

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal([("svc-1", 3)], h.Shimlet.Scaled);
        Assert.Equal(["svc-1"], h.Shimlet.Deleted);
        var status = await h.GetOutputAsync(instance.Id, "status");
        Assert.Equal(nameof(ServicePhase.Running), (string)status["phase"]!);
        Assert.Equal(3, (int)status["readyReplicas"]!);
        var logs = await h.GetOutputAsync(instance.Id, "logs");
        Assert.Equal(["two", "three"], logs["lines"]!.AsArray().Select(l => (string)l!));
    }

    [Fact]
    public async Task ShimletOperation_UnknownShimletOrBadReplicas_FailsWithoutRetry()
    {
        await using var h = await LlmHarness.StartAsync();
        await h.SaveAsync(Pipeline.Replace("\"replicas\": 3", "\"replicas\": -1", StringComparison.Ordinal));
        var badReplicas = await h.RunAsync("ops", new JsonObject { ["serviceId"] = "svc-1" });
        await h.SaveAsync(Pipeline.Replace("\"shimlet\": \"test\"", "\"shimlet\": \"nowhere\"", StringComparison.Ordinal));
        var unknown = await h.RunAsync("ops", new JsonObject { ["serviceId"] = "svc-1" });

        Assert.Equal(InstanceStatus.Faulted, badReplicas.Status);
        Assert.Equal("InvalidInput", badReplicas.ErrorType);
        Assert.Single(await h.GetStepsAsync(badReplicas.Id));
        Assert.Equal(InstanceStatus.Faulted, unknown.Status);
        Assert.Equal(LlmErrorTypes.UnknownShimlet, unknown.ErrorType);
        Assert.Contains("test", unknown.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(h.Shimlet.Scaled);
    }
}
