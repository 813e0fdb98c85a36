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

/// <summary>Echoes the typed values it received as its output <c>received</c>, so tests see what binding produced.</summary>
[Activity("Test.Typed", Category = "Test")]
[Output("received", "object")]
[Output("count", "integer")]
public sealed class TypedActivity : Activity
{
    [Input(DefaultJson = "7")]
    public int Count { get; set; } = 7;

    [Input]
    public double Ratio { get; set; }

    [Input]
    public string? Name { get; set; }

    [Input]
    public System.Text.Json.Nodes.JsonObject? Settings { get; set; }

    [Input]
    public bool Flag { get; set; }

    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetOutput("received", new System.Text.Json.Nodes.JsonObject
        {
            ["count"] = Count,
            ["ratio"] = Ratio,
            ["name"] = Name,
            ["settings"] = Settings?.DeepClone(),
            ["flag"] = Flag,
        });
        context.SetOutput("count", Count);
        return ValueTask.FromResult(ActivityResult.Done);
    }
}

/// <summary>Needs a value for <c>Must</c>; used to show a required input with no value fails clearly.</summary>
[Activity("Test.Needs", Category = "Test")]
public sealed class NeedsActivity : Activity
{
    [Input(Required = true)]
    public string Must { get; set; } = "";

    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context) => ValueTask.FromResult(ActivityResult.Done);
}

/// <summary>A scoped service: each step attempt must get its own, disposed when the attempt ends.</summary>
public sealed class AttemptScoped : IDisposable
{
    public static ConcurrentQueue<AttemptScoped> Created { get; } = new();

    public AttemptScoped() => Created.Enqueue(this);

    public bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;
}

/// <summary>Uses a scoped service from its constructor and from the context's services; both must be the attempt's.</summary>
[Activity("Test.Scoped", Category = "Test")]
[Output("same", "boolean")]
public sealed class ScopedActivity(AttemptScoped scoped) : Activity
{
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetOutput("same", ReferenceEquals(scoped, context.Services.GetService(typeof(AttemptScoped))) && !scoped.Disposed);
        return ValueTask.FromResult(ActivityResult.Done);
    }
}
