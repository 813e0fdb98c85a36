using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;
using ModelServeShim.Workflows.Replicas;
using ModelServeShim.Workflows.Tests.Execution;

namespace ModelServeShim.Workflows.Tests.Replicas;

/// <summary>
/// Two runtimes (two replicas, each with its own registry id, lease loop and leader election) on one PostgreSQL database
/// of the test cluster: takeover of orphaned instances, self-fencing, cancels and signals that land on the replica that
/// does not run the instance, and the hand-over of leadership. Short lease timings keep them fast.
/// </summary>
public sealed class ReplicaTests : IAsyncDisposable
{
    private static readonly Func<string, bool> Approver = r => r == "approver";

    // Heartbeat every 200 ms, lease 3 s (a loaded 2-core test machine can delay a heartbeat by a second), polls every 50 ms.
    private static readonly KeyValuePair<string, string?>[] Fast =
    [
        new("Replicas:HeartbeatInterval", "00:00:00.200"),
        new("Replicas:LeaseTtl", "00:00:03"),
        new("Replicas:PollInterval", "00:00:00.050"),
    ];

    private const string Waiting = """
        { "definitionId": "waiting", "root": { "type": "Flowchart",
          "activities": [
            { "id": "first", "type": "Test.Count" },
            { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "1h" }, "timeout": "2h" },
            { "id": "last", "type": "Test.Count" }
          ],
          "connections": [
            { "source": { "activity": "first" }, "target": { "activity": "wait" } },
            { "source": { "activity": "wait" }, "target": { "activity": "last" } }
          ] } }
        """;

    private const string Approval = """
        { "definitionId": "approval", "root": { "type": "Flowchart",
          "activities": [
            { "id": "approval", "type": "ModelServeShim.Approval", "inputs": { } },
            { "id": "done", "type": "Test.Count" }
          ],
          "connections": [ { "source": { "activity": "approval", "port": "Approved" }, "target": { "activity": "done" } } ] } }
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("mss-replicas-").FullName;
    private readonly List<EngineHarness> _replicas = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    [Fact]
    public async Task CleanStop_HandsItsInstancesOverAtOnce_AndOnlyTheInterruptedStepRunsAgain()
    {
        var a = await StartReplicaAsync();
        var b = await StartReplicaAsync();
        await a.SaveAsync(Waiting);
        var id = await a.StartAsync("waiting");
        await a.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);
        Assert.Equal(Registry(a).Id, (await a.GetInstanceAsync(id)).Owner);

        await a.StopAsync(); // the engine stops, then the lease removes A's row: B takes over on its next round
        var rerun = await b.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running, TimeSpan.FromSeconds(10));
        b.Time.Advance(TimeSpan.FromHours(1));
        var instance = await PollAsync(b, id, s => s is InstanceStatus.Completed or InstanceStatus.Faulted);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(Registry(b).Id, instance.Owner);
        Assert.Equal(1, instance.ResumeCount);
        Assert.Equal(2, rerun.Attempt);
        var steps = await b.GetStepsAsync(id);
        Assert.Equal([StepStatus.Interrupted, StepStatus.Succeeded], steps.Where(s => s.ActivityId == "wait").Select(s => s.Status));
        Assert.Equal(1, CountActivity.RunsOf(id, "first"));
        Assert.Equal(1, CountActivity.RunsOf(id, "last"));
    }

    [Fact]
    public async Task ReplicaDeclaredDead_FencesItself_AndAnotherTakesItsInstanceOver()
    {
        var a = await StartReplicaAsync();
        var b = await StartReplicaAsync();
        await a.SaveAsync(Waiting);
        var id = await a.StartAsync("waiting");
        await a.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);

        // What another replica does to a replica whose lease expired (ForgetDead): A's row is gone.
        await using (var db = await Db(b).CreateDbContextAsync())
        {
            await db.Replicas.Where(r => r.Id == Registry(a).Id).ExecuteDeleteAsync();
        }

        var leasesOfA = a.Services.GetRequiredService<ReplicaLeases>();
        await Poll(() => leasesOfA.Fenced && a.Engine.ActiveCount == 0, "A to fence itself and stop its run");
        await b.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running && s.Attempt == 2, TimeSpan.FromSeconds(10));
        b.Time.Advance(TimeSpan.FromHours(1));
        var instance = await PollAsync(b, id, s => s is InstanceStatus.Completed or InstanceStatus.Faulted);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(Registry(b).Id, instance.Owner);
        Assert.Equal(1, CountActivity.RunsOf(id, "last"));
    }

    [Fact]
    public async Task HeartbeatRenewedOnlyAfterAPauseLongerThanTheLease_FencesTheReplica_AndStopsItsRuns()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = await EngineHarness.StartAsync(_directory, writer: StoreWriter.Postgres, settings: Fast, replicaClock: clock);
        _replicas.Add(a);
        await a.SaveAsync(Waiting);
        var id = await a.StartAsync("waiting");
        await a.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);
        var leases = a.Services.GetRequiredService<ReplicaLeases>();

        clock.Advance(TimeSpan.FromMilliseconds(200)); // an ordinary heartbeat
        await Task.Delay(300);
        Assert.False(leases.Fenced);
        Assert.Equal(1, a.Engine.ActiveCount);

        clock.Advance(TimeSpan.FromSeconds(4)); // the process was frozen for longer than the 3 s lease
        await Poll(() => leases.Fenced && a.Engine.ActiveCount == 0, "A to fence itself and stop its run");

        var instance = await a.GetInstanceAsync(id);
        Assert.Equal(InstanceStatus.Running, instance.Status); // left for another replica to take over, not ended
        Assert.Equal(StepStatus.Interrupted, (await a.GetStepsAsync(id)).Single(s => s.ActivityId == "wait").Status); // stopped as at a shutdown
    }

    [Fact]
    public async Task Cancel_OnAReplicaThatDoesNotRunTheInstance_ReachesItsOwner()
    {
        var a = await StartReplicaAsync();
        var b = await StartReplicaAsync();
        await a.SaveAsync(Waiting);
        var id = await a.StartAsync("waiting");
        await a.Events.WaitForStepAsync(s => s.InstanceId == id && s.ActivityId == "wait" && s.Status == StepStatus.Running);

        Assert.False(b.Engine.Cancel(id, "not here", "olga")); // B does not run it ...
        Assert.True(await b.Engine.CancelAsync(id, "no longer needed", "olga")); // ... so the request goes to A through the database
        var instance = await PollAsync(a, id, s => s == InstanceStatus.Cancelled);

        Assert.Equal("no longer needed (by olga)", instance.ErrorMessage);
        Assert.Equal(Registry(a).Id, instance.Owner);
        Assert.Equal(StepStatus.Cancelled, (await a.GetStepsAsync(id)).Single(s => s.ActivityId == "wait").Status);
        Assert.False(await b.Engine.CancelAsync(id, "again", "olga")); // finished: nothing to cancel
    }

    [Fact]
    public async Task Signal_SentToAnotherReplica_ResumesTheInstanceOnItsOwner()
    {
        var a = await StartReplicaAsync();
        var b = await StartReplicaAsync();
        await a.SaveAsync(Approval);
        var id = await a.StartAsync("approval");
        Assert.Equal(InstanceStatus.Suspended, (await a.WaitAsync(id)).Status);

        var result = await b.Engine.Bookmarks.SignalAsync(id, "approval", new JsonObject { ["decision"] = "approve" }, "alice", Approver, default);
        Assert.Equal(SignalOutcome.Accepted, result.Outcome);
        var instance = await PollAsync(a, id, s => s is InstanceStatus.Completed or InstanceStatus.Faulted);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(Registry(a).Id, instance.Owner);
        Assert.Equal(1, CountActivity.RunsOf(id, "done"));
        Assert.Equal(0, b.Engine.ActiveCount);
        var again = await b.Engine.Bookmarks.SignalAsync(id, "approval", new JsonObject { ["decision"] = "approve" }, "bob", Approver, default);
        Assert.Equal(SignalOutcome.NotWaiting, again.Outcome);
    }

    [Fact]
    public async Task Leader_IsOneReplica_AndAnotherTakesOverWhenItStops()
    {
        var a = await StartReplicaAsync();
        await Poll(() => a.Leader.IsLeader, "A to become the leader");
        var b = await StartReplicaAsync();
        await Task.Delay(300); // several of B's tries
        Assert.False(b.Leader.IsLeader);

        var term = await a.Leader.WaitForLeadershipAsync(default);
        await a.StopAsync();
        Assert.True(term.IsCancellationRequested);
        await Poll(() => b.Leader.IsLeader, "B to become the leader after A stopped");
        Assert.False(a.Leader.IsLeader);
    }

    [Fact]
    public async Task ClaimOrphans_TakesOnlyInstancesOfExpiredOrMissingOwners_AndTwoReplicasNeverClaimTheSameOne()
    {
        var settings = EngineHarness.PostgresSettings(_directory).Concat(Fast).Append(new("Replicas:TakeoverBatch", "7")).ToList();
        await using var first = Standalone(settings);
        await using var second = Standalone(settings);
        var db = first.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
        var now = DateTimeOffset.UtcNow;
        await using (var context = await db.CreateDbContextAsync())
        {
            await context.Database.MigrateAsync();
            context.Replicas.Add(new ReplicaRecord { Id = "dead", Host = "h", ProcessId = 1, StartedAt = now.AddHours(-1), HeartbeatAt = now.AddMinutes(-1) });
            context.Replicas.Add(new ReplicaRecord { Id = "alive", Host = "h", ProcessId = 2, StartedAt = now.AddHours(-1), HeartbeatAt = now.AddHours(1) });
            for (var i = 0; i < 60; i++)
            {
                var (owner, status) = (i % 4) switch
                {
                    0 => ("dead", InstanceStatus.Running),
                    1 => ("alive", InstanceStatus.Running),
                    2 => (i % 8 == 2 ? null : "gone", InstanceStatus.Suspended),
                    _ => ("dead", InstanceStatus.Completed),
                };
                context.Instances.Add(new InstanceRecord
                {
                    Id = $"i{i:00}", DefinitionId = "x", DefinitionVersion = 1, Status = status, Operator = "t", Owner = owner,
                    CreatedAt = now.AddSeconds(i), UpdatedAt = now,
                });
            }

            await context.SaveChangesAsync();
        }

        var (one, two) = (first.GetRequiredService<ReplicaRegistry>(), second.GetRequiredService<ReplicaRegistry>());
        await one.RegisterAsync(default); // a claimer is a live replica: otherwise the other one would take its claims as orphaned
        await two.RegisterAsync(default);
        var claims = await Task.WhenAll(ClaimAllAsync(one), ClaimAllAsync(two));

        var expected = Enumerable.Range(0, 60).Where(i => i % 4 is 0 or 2).Select(i => $"i{i:00}").ToHashSet();
        Assert.Empty(claims[0].Intersect(claims[1]));
        Assert.Equal(expected.Order(), claims[0].Concat(claims[1]).Order());
        await using var check = await db.CreateDbContextAsync();
        Assert.Equal(15, await check.Instances.CountAsync(i => i.Owner == "alive"));
        Assert.Equal(30, await check.Instances.CountAsync(i => i.Owner == one.Id || i.Owner == two.Id));

        // "dead" still owns finished instances only; "gone" has no row: the dead replica's row can go.
        Assert.Equal(1, await one.ForgetDeadAsync(default));
        Assert.Equal(new[] { "alive", one.Id, two.Id }.Order(StringComparer.Ordinal), (await check.Replicas.Select(r => r.Id).ToListAsync()).Order(StringComparer.Ordinal));

        static async Task<List<string>> ClaimAllAsync(ReplicaRegistry registry)
        {
            var all = new List<string>();
            while ((await registry.ClaimOrphansAsync(default)) is { Count: > 0 } batch)
            {
                all.AddRange(batch);
            }

            return all;
        }
    }

    [Fact]
    public void LeaseShorterThanTwoHeartbeats_IsRefusedAtStart()
    {
        var options = new ReplicaOptions { HeartbeatInterval = TimeSpan.FromSeconds(5), LeaseTtl = TimeSpan.FromSeconds(8) };
        var result = new ReplicaOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Replicas:LeaseTtl", result.FailureMessage, StringComparison.Ordinal);
    }

    private async Task<EngineHarness> StartReplicaAsync()
    {
        var harness = await EngineHarness.StartAsync(_directory, writer: StoreWriter.Postgres, settings: Fast);
        _replicas.Add(harness);
        return harness;
    }

    private static ServiceProvider Standalone(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging()
            .AddStateStore(configuration, "unused.db")
            .AddStateDbContextFactory<WorkflowDbContext, PostgresWorkflowDbContext>(configuration, null)
            .AddSingleton(Options.Create(configuration.GetSection(ReplicaOptions.Section).Get<ReplicaOptions>()!))
            .AddSingleton(new ReplicaClock(TimeProvider.System))
            .AddSingleton<ReplicaRegistry>()
            .BuildServiceProvider();
    }

    private static ReplicaRegistry Registry(EngineHarness h) => h.Services.GetRequiredService<ReplicaRegistry>();

    private static IDbContextFactory<WorkflowDbContext> Db(EngineHarness h) => h.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();

    private static async Task Poll(Func<bool> done, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!done())
        {
            await Task.Delay(20, cts.Token).ContinueWith(t => Assert.False(t.IsCanceled, $"Timed out waiting for {what}."), TaskScheduler.Default);
        }
    }

    private static async Task<InstanceRecord> PollAsync(EngineHarness h, string id, Func<InstanceStatus, bool> done)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var instance = await h.GetInstanceAsync(id);
            if (done(instance.Status))
            {
                return instance;
            }

            await Task.Delay(20, cts.Token);
        }
    }
}
