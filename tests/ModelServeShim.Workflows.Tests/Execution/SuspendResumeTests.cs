using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Execution;

/// <summary>Suspend and resume with the SQLite writer.</summary>
public sealed class SqliteWriterSuspendResumeTests() : SuspendResumeTests(StoreWriter.Sqlite);

/// <summary>Suspend and resume with the provider-neutral EF Core writer (what another provider gets).</summary>
public sealed class EfWriterSuspendResumeTests() : SuspendResumeTests(StoreWriter.EntityFramework);

/// <summary>Suspend and resume on PostgreSQL (a database of the test cluster per harness) with its batching writer.</summary>
public sealed class PostgresWriterSuspendResumeTests() : SuspendResumeTests(StoreWriter.Postgres);

/// <summary>
/// Suspended instances (an <c>ModelServeShim.Approval</c> step waiting for its signal): no slot held, signals resolved
/// exactly once with roles and a payload schema, timeouts on the fake clock (re-armed after a restart), cancel.
/// </summary>
public abstract class SuspendResumeTests(StoreWriter writer)
{
    private static readonly Func<string, bool> Approver = r => r == "approver";

    /// <summary>approval → Approved: done (Test.Count); Rejected: rejected (Fail with the comment); TimedOut: late (Test.Count).</summary>
    private static string ApprovalFlow(string id, string? timeout = null) => $$$"""
        { "definitionId": "{{{id}}}", "root": { "type": "Flowchart",
          "activities": [
            { "id": "approval", "type": "ModelServeShim.Approval", "inputs": { {{{(timeout is null ? "" : $"\"timeout\": \"{timeout}\"")}}} } },
            { "id": "done", "type": "Test.Count" },
            { "id": "late", "type": "Test.Count" },
            { "id": "rejected", "type": "ModelServeShim.Fail", "inputs": { "errorType": "Rejected", "retryable": false,
              "message": "Rejected by {{ steps.approval.output.by }}: {{ steps.approval.output.comment }}" } }
          ],
          "connections": [
            { "source": { "activity": "approval", "port": "Approved" }, "target": { "activity": "done" } },
            { "source": { "activity": "approval", "port": "Rejected" }, "target": { "activity": "rejected" } },
            { "source": { "activity": "approval", "port": "TimedOut" }, "target": { "activity": "late" } }
          ] } }
        """;

    private static JsonObject Decision(string decision, string? comment = null) => new() { ["decision"] = decision, ["comment"] = comment };

    [Fact]
    public async Task Approval_SuspendsWithoutHoldingASlot_ThenTheSignalResumesItOnce()
    {
        await using var h = await EngineHarness.StartAsync(maxConcurrent: 1, writer: writer);
        await h.SaveAsync(ApprovalFlow("approve"));
        await h.SaveAsync("""{ "definitionId": "other", "root": { "type": "Flowchart", "activities": [ { "id": "only", "type": "Test.Count" } ], "connections": [] } }""");

        var id = await h.StartAsync("approve");
        var suspended = await h.WaitAsync(id);
        Assert.Equal(InstanceStatus.Suspended, suspended.Status);
        Assert.Equal(0, h.Engine.ActiveCount);
        Assert.Equal(1, h.Engine.Bookmarks.SuspendedCount);

        // The only slot is free: another instance runs to its end while the first waits.
        var other = await h.StartAsync("other");
        Assert.Equal(InstanceStatus.Completed, (await h.WaitAsync(other)).Status);

        var open = (await h.Engine.Bookmarks.OpenAsync([id], default))[id];
        Assert.Equal(["approval"], open.Select(b => b.Name));
        Assert.Equal("approver", open[0].Roles);

        var result = await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve", "fits the budget"), "alice", Approver, default);
        Assert.Equal(SignalOutcome.Accepted, result.Outcome);
        var instance = await h.WaitAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        var steps = await h.GetStepsAsync(id);
        var approval = steps.Where(s => s.ActivityId == "approval").ToList();
        Assert.Equal([StepStatus.Suspended, StepStatus.Succeeded], approval.Select(s => s.Status));
        Assert.Equal("Approved", approval[^1].Outcome);
        var output = JsonNode.Parse(approval[^1].OutputJson!)!;
        Assert.Equal("alice", (string?)output["by"]);
        Assert.Equal("fits the budget", (string?)output["comment"]);
        Assert.Equal(1, CountActivity.RunsOf(id, "done"));
        Assert.Equal(0, CountActivity.RunsOf(id, "late"));
        var journal = await h.GetJournalAsync(id);
        Assert.Contains(journal, j => j.Event == "InstanceSuspended");
        Assert.Contains(journal, j => j.Event == "SignalReceived" && j.Message.Contains("alice", StringComparison.Ordinal));

        var again = await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "bob", Approver, default);
        Assert.Equal(SignalOutcome.NotWaiting, again.Outcome);
        Assert.Contains("already received (by alice", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signal_IsRefused_ForTheWrongRole_ABadPayload_OrASignalItDoesNotWaitFor()
    {
        await using var h = await EngineHarness.StartAsync(writer: writer);
        await h.SaveAsync(ApprovalFlow("refusals"));
        var id = await h.StartAsync("refusals");
        await h.WaitAsync(id);

        var operatorOnly = await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "olga", r => r is "viewer" or "operator", default);
        var badPayload = await h.Engine.Bookmarks.SignalAsync(id, "approval", new JsonObject { ["decision"] = "maybe" }, "alice", Approver, default);
        var otherName = await h.Engine.Bookmarks.SignalAsync(id, "go", null, "alice", Approver, default);
        var unknown = await h.Engine.Bookmarks.SignalAsync("nope", "approval", null, "alice", Approver, default);

        Assert.Equal(SignalOutcome.Forbidden, operatorOnly.Outcome);
        Assert.Contains("role approver", operatorOnly.Message, StringComparison.Ordinal);
        Assert.Equal(SignalOutcome.PayloadInvalid, badPayload.Outcome);
        Assert.Contains("$.decision", badPayload.Errors!.Keys);
        Assert.Equal(SignalOutcome.NotWaiting, otherName.Outcome);
        Assert.Equal(["approval"], otherName.Waiting);
        Assert.Equal(SignalOutcome.InstanceNotFound, unknown.Outcome);
        Assert.Equal(InstanceStatus.Suspended, (await h.GetInstanceAsync(id)).Status);
    }

    [Fact]
    public async Task TwoConcurrentSignals_OneWins_TheOtherIsNotWaiting()
    {
        await using var h = await EngineHarness.StartAsync(writer: writer);
        await h.SaveAsync(ApprovalFlow("race"));
        var id = await h.StartAsync("race");
        await h.WaitAsync(id);

        var results = await Task.WhenAll(
            Task.Run(() => h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "alice", Approver, default)),
            Task.Run(() => h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("reject", "no"), "bob", Approver, default)));

        Assert.Single(results, r => r.Outcome == SignalOutcome.Accepted);
        Assert.Single(results, r => r.Outcome == SignalOutcome.NotWaiting);
        var instance = await h.WaitAsync(id);
        Assert.Contains(instance.Status, new[] { InstanceStatus.Completed, InstanceStatus.Faulted });
        Assert.Single(await h.GetStepsAsync(id), s => s.ActivityId == "approval" && s.IsFinal);
    }

    [Fact]
    public async Task Reject_FollowsTheRejectedPort_WithTheComment()
    {
        await using var h = await EngineHarness.StartAsync(writer: writer);
        await h.SaveAsync(ApprovalFlow("reject"));
        var id = await h.StartAsync("reject");
        await h.WaitAsync(id);

        Assert.Equal(SignalOutcome.Accepted, (await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("reject", "too many GPUs"), "bob", Approver, default)).Outcome);
        var instance = await h.WaitAsync(id);

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal("rejected", instance.FaultedStep);
        Assert.Equal("Rejected by bob: too many GPUs", instance.ErrorMessage);
    }

    [Fact]
    public async Task Timeout_TakesTheTimedOutPort_AndIsReArmedAfterARestart()
    {
        var directory = Directory.CreateTempSubdirectory("mss-suspend-").FullName;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        string id;
        await using (var first = await EngineHarness.StartAsync(directory, time, writer: writer))
        {
            await first.SaveAsync(ApprovalFlow("timeout", "1h"));
            id = await first.StartAsync("timeout");
            Assert.Equal(InstanceStatus.Suspended, (await first.WaitAsync(id)).Status);
            time.Advance(TimeSpan.FromMinutes(30));
        }

        await using var second = await EngineHarness.StartAsync(directory, time, writer: writer);
        Assert.Equal(InstanceStatus.Suspended, (await second.GetInstanceAsync(id)).Status);
        Assert.Equal(1, second.Engine.Bookmarks.SuspendedCount);

        time.Advance(TimeSpan.FromMinutes(29));
        await Task.Delay(100);
        Assert.Equal(InstanceStatus.Suspended, (await second.GetInstanceAsync(id)).Status);

        time.Advance(TimeSpan.FromMinutes(1));
        var instance = await PollAsync(second, id, s => s is InstanceStatus.Completed or InstanceStatus.Faulted);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(1, CountActivity.RunsOf(id, "late"));
        Assert.Equal(0, CountActivity.RunsOf(id, "done"));
        var approval = (await second.GetStepsAsync(id)).Last(s => s.ActivityId == "approval");
        Assert.Equal("TimedOut", approval.Outcome);
        var late = await second.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "alice", Approver, default);
        Assert.Equal(SignalOutcome.NotWaiting, late.Outcome);
        Assert.Contains("timedout", late.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspended_SurvivesARestart_AndTheSignalResumesItThere()
    {
        var directory = Directory.CreateTempSubdirectory("mss-suspend-").FullName;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        string id;
        await using (var first = await EngineHarness.StartAsync(directory, time, writer: writer))
        {
            await first.SaveAsync(ApprovalFlow("restart"));
            id = await first.StartAsync("restart");
            await first.WaitAsync(id);
        }

        await using var second = await EngineHarness.StartAsync(directory, time, writer: writer);
        Assert.Equal(SignalOutcome.Accepted, (await second.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "alice", Approver, default)).Outcome);
        var instance = await second.WaitAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(1, CountActivity.RunsOf(id, "done"));
    }

    [Fact]
    public async Task Cancel_WhileSuspended_EndsItCancelled_AndClosesTheBookmark()
    {
        await using var h = await EngineHarness.StartAsync(writer: writer);
        await h.SaveAsync(ApprovalFlow("cancel", "1h"));
        var id = await h.StartAsync("cancel");
        await h.WaitAsync(id);

        Assert.True(h.Engine.Cancel(id, "not needed", "olga"));
        var instance = await PollAsync(h, id, s => s == InstanceStatus.Cancelled);

        Assert.Equal("not needed (by olga)", instance.ErrorMessage);
        var approval = (await h.GetStepsAsync(id)).Single(s => s.ActivityId == "approval");
        Assert.Equal(StepStatus.Cancelled, approval.Status);
        Assert.True(approval.IsFinal);
        Assert.Empty((await h.Engine.Bookmarks.OpenAsync([id], default)).GetValueOrDefault(id) ?? []);
        Assert.Equal(SignalOutcome.NotWaiting, (await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "alice", Approver, default)).Outcome);

        // The timeout's timer was stopped with it: advancing past it changes nothing.
        h.Time.Advance(TimeSpan.FromHours(2));
        await Task.Delay(100);
        Assert.Equal(InstanceStatus.Cancelled, (await h.GetInstanceAsync(id)).Status);
    }

    [Fact]
    public async Task Signal_WhileAnotherBranchStillRuns_ReachesTheLiveRun()
    {
        await using var h = await EngineHarness.StartAsync(writer: writer);
        await h.SaveAsync("""
            { "definitionId": "fork", "root": { "type": "Flowchart",
              "activities": [
                { "id": "start", "type": "Test.Count" },
                { "id": "approval", "type": "ModelServeShim.Approval" },
                { "id": "slow", "type": "ModelServeShim.Delay", "inputs": { "duration": "10m" } },
                { "id": "done", "type": "Test.Count" }
              ],
              "connections": [
                { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "approval" } },
                { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "slow" } },
                { "source": { "activity": "approval", "port": "Approved" }, "target": { "activity": "done" } }
              ] } }
            """);
        var id = await h.StartAsync("fork");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "approval" && s.Status == StepStatus.Suspended);
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "slow" && s.Status == StepStatus.Running);
        await Task.Delay(50);

        var signal = await h.Engine.Bookmarks.SignalAsync(id, "approval", Decision("approve"), "alice", Approver, default);
        Assert.True(signal.Outcome == SignalOutcome.Accepted, $"{signal.Outcome}: {signal.Message}");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "done" && s.Status == StepStatus.Succeeded);
        Assert.Equal(InstanceStatus.Running, (await h.GetInstanceAsync(id)).Status);

        h.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(InstanceStatus.Completed, (await h.WaitAsync(id)).Status);
    }

    private static async Task<InstanceRecord> PollAsync(EngineHarness h, string id, Func<InstanceStatus, bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var instance = await h.GetInstanceAsync(id);
            if (done(instance.Status) || DateTime.UtcNow > until)
            {
                return instance;
            }

            await Task.Delay(20);
        }
    }
}
