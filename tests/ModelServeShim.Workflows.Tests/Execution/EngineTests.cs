using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Execution;

/// <summary>The engine tests with the SQLite writer the runtime registers for SQLite.</summary>
public sealed class SqliteWriterEngineTests() : EngineTests(StoreWriter.Sqlite);

/// <summary>The engine tests with the provider-neutral EF Core writer, so that fallback stays honest.</summary>
public sealed class EfWriterEngineTests() : EngineTests(StoreWriter.EntityFramework);

/// <summary>The engine tests on PostgreSQL (a database of the test cluster per harness) with its batching writer.</summary>
public sealed class PostgresWriterEngineTests() : EngineTests(StoreWriter.Postgres);

public abstract class EngineTests(StoreWriter writer)
{
    private static string Chain(string id, string activities, string connections) => $$"""
        { "definitionId": "{{id}}", "root": { "type": "Flowchart", "activities": [ {{activities}} ], "connections": [ {{connections}} ] } }
        """;

    private static string Edge(string from, string to, string port = "Done") =>
        $$"""{ "source": { "activity": "{{from}}", "port": "{{port}}" }, "target": { "activity": "{{to}}" } }""";

    [Fact]
    public async Task Retry_FailsTwiceThenSucceeds_RecordsThreeAttemptsWithExponentialDelays()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("retry", """
            { "id": "flaky", "type": "ModelServeShim.Fail", "inputs": { "errorType": "Flaky", "failAttempts": 2 },
              "retry": { "maxAttempts": 3, "delay": "2s", "backoff": "exponential" } }
            """, ""));

        var id = await h.StartAsync("retry");
        foreach (var (attempt, delay) in new[] { (1, 2), (2, 4) })
        {
            await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.Attempt == attempt && s.Status == StepStatus.Failed);
            await Task.Delay(50); // let Polly register its delay timer on the fake clock
            h.Time.Advance(TimeSpan.FromSeconds(delay));
        }

        var instance = await h.WaitAsync(id);
        var steps = await h.GetStepsAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal([1, 2, 3], steps.Select(s => s.Attempt));
        Assert.Equal([StepStatus.Failed, StepStatus.Failed, StepStatus.Succeeded], steps.Select(s => s.Status));
        Assert.Equal([2000.0, 4000.0], steps.Take(2).Select(s => s.RetryDelayMs!.Value));
        Assert.All(steps.Take(2), s => Assert.Equal("Flaky", s.ErrorType));
        Assert.Equal(TimeSpan.FromSeconds(2), steps[1].StartedAt - steps[0].EndedAt);
        Assert.Equal(TimeSpan.FromSeconds(4), steps[2].StartedAt - steps[1].EndedAt);
        Assert.Equal([false, false, true], steps.Select(s => s.IsFinal));
    }

    [Fact]
    public async Task Steps_GetADependencyInjectionScopePerAttempt_DisposedWhenTheAttemptEnds()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("scoped", """
            { "id": "first", "type": "Test.Scoped" }, { "id": "second", "type": "Test.Scoped" }
            """, Edge("first", "second")));
        var before = AttemptScoped.Created.Count;

        var id = await h.StartAsync("scoped");
        var instance = await h.WaitAsync(id);
        var steps = await h.GetStepsAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.All(steps, s => Assert.True((bool)JsonNode.Parse(s.OutputJson!)!["same"]!));
        var mine = AttemptScoped.Created.Skip(before).ToList();
        Assert.Equal(2, mine.Count);
        Assert.NotSame(mine[0], mine[1]);
        Assert.All(mine, m => Assert.True(m.Disposed));
    }

    [Fact]
    public async Task References_PassValuesWithTheirTypes_AndMissingOrNullMembersTakeTheDefault()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync("""
            {
              "definitionId": "typed",
              "inputs": [ { "name": "n", "type": "integer" }, { "name": "obj", "type": "object", "default": {} }, { "name": "flag", "type": "boolean", "default": false } ],
              "root": { "type": "Flowchart", "activities": [
                { "id": "given", "type": "Test.Typed", "inputs": {
                    "count": { "from": "$.input.n" }, "ratio": { "from": "$.input.obj.a.b" }, "settings": { "from": "$.input.obj" },
                    "flag": { "from": "$.input.flag" }, "name": { "from": "$.instance.operator" } } },
                { "id": "missing", "type": "Test.Typed", "inputs": {
                    "count": { "from": "$.input.obj.nothing", "default": 42 }, "ratio": { "from": "$.input.obj.nil", "default": 0.5 },
                    "name": { "from": "$.input.obj.list[5]", "default": null } } },
                { "id": "fallback", "type": "Test.Typed", "inputs": {
                    "count": { "from": "$.input.obj.nothing" }, "ratio": { "from": "$.steps.given.output.count" } } }
              ], "connections": [
                { "source": { "activity": "given" }, "target": { "activity": "missing" } },
                { "source": { "activity": "missing" }, "target": { "activity": "fallback" } } ] }
            }
            """);

        var input = new JsonObject { ["n"] = 3, ["obj"] = new JsonObject { ["a"] = new JsonObject { ["b"] = 2.5 }, ["nil"] = null, ["list"] = new JsonArray(1) }, ["flag"] = true };
        var instance = await h.WaitAsync(await h.StartAsync("typed", input));
        var steps = (await h.GetStepsAsync(instance.Id)).ToDictionary(s => s.ActivityId);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        var given = JsonNode.Parse(steps["given"].OutputJson!)!["received"]!;
        Assert.Equal(3, (int)given["count"]!);
        Assert.Equal(2.5, (double)given["ratio"]!);
        Assert.True((bool)given["flag"]!);
        Assert.Equal(2.5, (double)given["settings"]!["a"]!["b"]!);
        Assert.Equal(JsonValueKind.Number, JsonNode.Parse(steps["given"].InputJson!)!["count"]!.GetValueKind()); // recorded as a number, not "3"
        var missing = JsonNode.Parse(steps["missing"].OutputJson!)!["received"]!;
        Assert.Equal(42, (int)missing["count"]!);
        Assert.Equal(0.5, (double)missing["ratio"]!); // present but null: the default, not an error
        Assert.Null(missing["name"]);
        var fallback = JsonNode.Parse(steps["fallback"].OutputJson!)!["received"]!;
        Assert.Equal(7, (int)fallback["count"]!); // no default in the reference: the activity's own default
        Assert.Equal(3.0, (double)fallback["ratio"]!); // an integer output into a number input
    }

    [Fact]
    public async Task References_RequiredInputWithNothingToRead_FailsNamingThePath()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync("""
            {
              "definitionId": "needs",
              "inputs": [ { "name": "obj", "type": "object", "default": {} } ],
              "root": { "type": "Flowchart", "activities": [
                { "id": "needy", "type": "Test.Needs", "inputs": { "must": { "from": "$.input.obj.absent" } } } ], "connections": [] }
            }
            """);

        var instance = await h.WaitAsync(await h.StartAsync("needs"));
        var step = Assert.Single(await h.GetStepsAsync(instance.Id));

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal(StepErrorTypes.InvalidInput, step.ErrorType);
        Assert.Contains("$.input.obj.absent", step.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("'must'", step.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_NonRetryableError_StopsAfterFirstAttempt()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("fatal", """
            { "id": "bad", "type": "ModelServeShim.Fail", "inputs": { "errorType": "ModelNotFound", "retryable": false },
              "retry": { "maxAttempts": 5, "delay": "1s" } }
            """, ""));

        var instance = await h.WaitAsync(await h.StartAsync("fatal"));
        var step = Assert.Single(await h.GetStepsAsync(instance.Id));

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal("bad", instance.FaultedStep);
        Assert.Equal("ModelNotFound", instance.ErrorType);
        Assert.False(step.Retryable);
    }

    [Fact]
    public async Task Timeout_StepExceedsTimeout_FaultsWithTimeoutTypeAndFollowsFailedPort()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("timeout", """
            { "id": "slow", "type": "ModelServeShim.Delay", "inputs": { "duration": "1h" }, "timeout": "10s" },
            { "id": "next", "type": "Test.Count" },
            { "id": "notify", "type": "ModelServeShim.Log", "inputs": { "message": "slow failed: {{ steps[\"slow\"].output.error.type }}" } }
            """, Edge("slow", "next") + "," + Edge("slow", "notify", "Failed")));

        var id = await h.StartAsync("timeout");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "slow" && s.Status == StepStatus.Running);
        await Task.Delay(50);
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var instance = await h.WaitAsync(id);
        var steps = await h.GetStepsAsync(id);
        var journal = await h.GetJournalAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        var slow = Assert.Single(steps, s => s.ActivityId == "slow");
        Assert.Equal(StepStatus.TimedOut, slow.Status);
        Assert.Equal(StepErrorTypes.Timeout, slow.ErrorType);
        Assert.DoesNotContain(steps, s => s.ActivityId == "next");
        Assert.Contains(steps, s => s.ActivityId == "notify" && s.Status == StepStatus.Succeeded);
        Assert.Contains(journal, j => j.Message == "slow failed: Timeout");
    }

    [Fact]
    public async Task Timeout_WithoutFailedPort_FaultsInstance()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("timeout-fault", """
            { "id": "slow", "type": "ModelServeShim.Delay", "inputs": { "duration": "1h" }, "timeout": "10s" }
            """, ""));

        var id = await h.StartAsync("timeout-fault");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.Status == StepStatus.Running);
        await Task.Delay(50);
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var instance = await h.WaitAsync(id);

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal(StepErrorTypes.Timeout, instance.ErrorType);
        Assert.Equal("slow", instance.FaultedStep);
    }

    [Fact]
    public async Task ForkJoin_BranchesRunInParallelAndJoinRunsOnce()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("fork", """
            { "id": "a", "type": "Test.Count" },
            { "id": "b", "type": "ModelServeShim.Delay", "inputs": { "duration": "5s" } },
            { "id": "c", "type": "ModelServeShim.Delay", "inputs": { "duration": "5s" } },
            { "id": "d", "type": "Test.Count" }
            """, string.Join(",", Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d"))));

        var id = await h.StartAsync("fork");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "b" && s.Status == StepStatus.Running);
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "c" && s.Status == StepStatus.Running);
        await Task.Delay(50);
        h.Time.Advance(TimeSpan.FromSeconds(5)); // one advance finishes both: they waited at the same time
        var instance = await h.WaitAsync(id);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(1, CountActivity.RunsOf(id, "d"));
        var steps = await h.GetStepsAsync(id);
        Assert.Equal(steps.Single(s => s.ActivityId == "b").StartedAt, steps.Single(s => s.ActivityId == "c").StartedAt);
    }

    [Fact]
    public async Task Branch_UntakenPath_IsSkippedAndJoinStillRuns()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("branch", """
            { "id": "choose", "type": "Test.Branch", "inputs": { "port": "Left" } },
            { "id": "left", "type": "Test.Count" },
            { "id": "right", "type": "Test.Count" },
            { "id": "right-2", "type": "Test.Count" },
            { "id": "join", "type": "ModelServeShim.Log", "inputs": { "message": "left ran {{ steps[\"left\"].output.runs }} time(s)" } }
            """, string.Join(",", Edge("choose", "left", "Left"), Edge("choose", "right", "Right"), Edge("right", "right-2"), Edge("left", "join"), Edge("right-2", "join"))));

        var id = await h.StartAsync("branch");
        var instance = await h.WaitAsync(id);
        var ran = (await h.GetStepsAsync(id)).Select(s => s.ActivityId).ToList();

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["choose", "join", "left"], ran.Order(StringComparer.Ordinal));
        Assert.Contains(await h.GetJournalAsync(id), j => j.Message == "left ran 1 time(s)");
    }

    [Fact]
    public async Task Cancel_RunningInstance_CancelsStepAndRecordsReason()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync(Chain("cancel", """{ "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "1h" } }""", ""));

        var id = await h.StartAsync("cancel");
        await h.Events.WaitForStepAsync(s => s.InstanceId == id && s.Status == StepStatus.Running);
        Assert.True(h.Engine.Cancel(id, "operator changed their mind", "alice"));
        var instance = await h.WaitAsync(id);
        var step = Assert.Single(await h.GetStepsAsync(id));

        Assert.Equal(InstanceStatus.Cancelled, instance.Status);
        Assert.Contains("operator changed their mind", instance.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("alice", instance.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(StepStatus.Cancelled, step.Status);
        Assert.False(h.Engine.Cancel(id, "again", "alice"));
    }

    [Fact]
    public async Task Concurrency_ExcessInstancesWaitPending()
    {
        await using var h = await StartHarnessAsync(maxConcurrent: 2);
        await h.SaveAsync(Chain("slots", """{ "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "1s" } }""", ""));

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await h.StartAsync("slots"));
        }

        await h.Events.WaitForStepAsync(s => s.Status == StepStatus.Running && ids.Contains(s.InstanceId));
        await Task.Delay(200);
        var statuses = new List<InstanceStatus>();
        foreach (var id in ids)
        {
            statuses.Add((await h.GetInstanceAsync(id)).Status);
        }

        Assert.Equal(2, statuses.Count(s => s == InstanceStatus.Running));
        Assert.Equal(2, statuses.Count(s => s == InstanceStatus.Pending));
        for (var round = 0; round < 2; round++)
        {
            await Task.Delay(50);
            h.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(200);
        }

        foreach (var id in ids)
        {
            Assert.Equal(InstanceStatus.Completed, (await h.WaitAsync(id)).Status);
        }
    }

    [Fact]
    public async Task Resume_AfterStop_CompletedStepsDoNotRunAgain()
    {
        var directory = Directory.CreateTempSubdirectory("mss-resume-").FullName;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        string id;
        await using (var first = await StartHarnessAsync(directory, time))
        {
            await first.SaveAsync(Chain("resume", """
                { "id": "a", "type": "Test.Count" },
                { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "1m" } },
                { "id": "c", "type": "Test.Count" }
                """, string.Join(",", Edge("a", "wait"), Edge("wait", "c"))));
            id = await first.StartAsync("resume");
            await first.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);
        }

        Assert.Equal(InstanceStatus.Running, (await EngineHarness.ReadInstanceAsync(directory, writer, id)).Status);
        await using var second = await StartHarnessAsync(directory, time);
        await second.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);
        await Task.Delay(50);
        time.Advance(TimeSpan.FromMinutes(1));
        var instance = await second.WaitAsync(id);
        var waits = (await second.GetStepsAsync(id)).Where(s => s.ActivityId == "wait").ToList();

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(1, instance.ResumeCount);
        Assert.Equal(1, CountActivity.RunsOf(id, "a"));
        Assert.Equal(1, CountActivity.RunsOf(id, "c"));
        Assert.Equal([StepStatus.Interrupted, StepStatus.Succeeded], waits.Select(s => s.Status));
        Assert.Contains(await second.GetJournalAsync(id), j => j.Event == "InstanceResumed");
    }

    [Fact]
    public async Task Start_InputMissingRequiredOrWrongType_IsRejectedWithPaths()
    {
        await using var h = await StartHarnessAsync();
        await h.SaveAsync("""
            { "definitionId": "typed", "inputs": [ { "name": "count", "type": "integer", "required": true }, { "name": "name", "type": "string" } ],
              "root": { "activities": [ { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "{{ input.count }}" } } ] } }
            """);

        var missing = await Assert.ThrowsAsync<ModelServeShim.Workflows.Execution.InputInvalidException>(() => h.StartAsync("typed", []));
        var wrong = await Assert.ThrowsAsync<ModelServeShim.Workflows.Execution.InputInvalidException>(() => h.StartAsync("typed", new JsonObject { ["count"] = "three", ["extra"] = 1 }));

        Assert.Contains(missing.Errors, e => e.Path == "$.input.count");
        Assert.Contains(wrong.Errors, e => e.Path == "$.input.count");
        Assert.Contains(wrong.Errors, e => e.Path == "$.input.extra");
    }

    [Fact]
    public async Task Save_SameContentTwice_KeepsVersionAndChangedContentAddsOne()
    {
        await using var h = await StartHarnessAsync();
        var json = Chain("versions", """{ "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "v1" } }""", "");

        Assert.Equal(1, await h.SaveAsync(json));
        Assert.Equal(1, await h.SaveAsync(json));
        Assert.Equal(2, await h.SaveAsync(json.Replace("v1", "v2", StringComparison.Ordinal)));
    }

    private Task<EngineHarness> StartHarnessAsync(
        string? directory = null, Microsoft.Extensions.Time.Testing.FakeTimeProvider? time = null, int maxConcurrent = 16) =>
        EngineHarness.StartAsync(directory, time, maxConcurrent, writer);
}
