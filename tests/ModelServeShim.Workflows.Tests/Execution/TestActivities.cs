using System.Collections.Concurrent;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Tests.Execution;

/// <summary>Counts its runs per instance and step; the side effect tests check "ran once".</summary>
[Activity("Test.Count", Category = "Test")]
[Output("runs", "integer")]
public sealed class CountActivity : Activity
{
    public static ConcurrentDictionary<string, int> Runs { get; } = new();

    public static int RunsOf(string instanceId, string step) => Runs.GetValueOrDefault($"{instanceId}/{step}");

    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        var n = Runs.AddOrUpdate($"{context.InstanceId}/{context.ActivityId}", 1, (_, v) => v + 1);
        context.SetOutput("runs", n);
        return ValueTask.FromResult(ActivityResult.Done);
    }
}

/// <summary>Fires the port named by its input.</summary>
[Activity("Test.Branch", Category = "Test")]
[Outcomes("Left", "Right")]
public sealed class BranchActivity : Activity
{
    [Input(Required = true)]
    public string Port { get; set; } = "";

    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context) => ValueTask.FromResult(ActivityResult.Port(Port));
}
