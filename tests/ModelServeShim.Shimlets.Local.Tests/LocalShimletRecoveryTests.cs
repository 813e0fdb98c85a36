using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

public sealed class LocalShimletRecoveryTests
{
    [Fact]
    public async Task SecondInstance_SameStateDirectory_AdoptsRunningProcessesAndRestartsKilledOne()
    {
        await using var harness = new LocalHarness();
        var first = harness.Shimlet;
        await first.ApplyAsync(harness.Spec("tiny-k1", replicas: 2), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-k1", s => s is { Phase: ServicePhase.Running, ReadyReplicas: 2 });
        var before = first.Snapshot("tiny-k1");
        var beforeLogs = await first.GetLogsAsync(new ServiceTarget("tiny-k1"), 100, CancellationToken.None);

        // The orchestrator goes away (its processes stay); one runtime dies while nobody watches.
        await first.DisposeAsync();
        LocalHarness.KillHard(before[1].Pid!.Value);
        await LocalHarness.WaitUntilAsync(() => !LocalHarness.IsAlive(before[1].Pid!.Value), "the killed replica to exit");

        var second = harness.NewShimlet();
        var status = await harness.WaitForStatusAsync("tiny-k1", s => s is { Phase: ServicePhase.Running, ReadyReplicas: 2 }, second);
        var after = second.Snapshot("tiny-k1");

        Assert.Equal((before[0].Pid, true), (after[0].Pid, after[0].Adopted));
        Assert.NotEqual(before[1].Pid, after[1].Pid);
        Assert.False(after[1].Adopted);
        Assert.Equal(new Uri($"http://127.0.0.1:{before[0].Port}"), status.Endpoint);
        var logs = await second.GetLogsAsync(new ServiceTarget("tiny-k1"), 100, CancellationToken.None);
        Assert.Contains(beforeLogs.First(l => l.StartsWith("[replica-0]", StringComparison.Ordinal)), logs);

        var again = await second.ApplyAsync(harness.Spec("tiny-k1", replicas: 2), CancellationToken.None);
        Assert.False(again.Changed);
        Assert.Equal(before[0].Pid, second.Snapshot("tiny-k1")[0].Pid);
    }

    [Fact]
    public async Task SecondInstance_RecordWithAnotherStartTime_NeverAdoptsThePid()
    {
        await using var harness = new LocalHarness();
        var first = harness.Shimlet;
        await first.ApplyAsync(harness.Spec("tiny-l1"), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-l1", s => s.Phase == ServicePhase.Running);
        var pid = Assert.Single(first.Snapshot("tiny-l1")).Pid!.Value;
        await first.DisposeAsync();

        // Make the record describe another process that had the same pid (as after pid reuse).
        var recordPath = Path.Combine(harness.ServiceDirectory("tiny-l1"), "service.json");
        var record = JsonNode.Parse(await File.ReadAllTextAsync(recordPath))!;
        record["replicas"]![0]!["startTime"] = record["replicas"]![0]!["startTime"]!.GetValue<ulong>() + 1;
        await File.WriteAllTextAsync(recordPath, record.ToJsonString());

        try
        {
            var second = harness.NewShimlet();
            await harness.WaitForStatusAsync("tiny-l1", s => s.Phase == ServicePhase.Running, second);

            var replica = Assert.Single(second.Snapshot("tiny-l1"));
            Assert.NotEqual(pid, replica.Pid);
            Assert.False(replica.Adopted);
            Assert.True(LocalHarness.IsAlive(pid)); // not signalled either
        }
        finally
        {
            LocalHarness.KillHard(pid);
        }
    }

    [Fact]
    public async Task Record_IsWrittenAtomicallyWithSpecPidsPortsAndStartTimes()
    {
        await using var harness = new LocalHarness();
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-m1"), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-m1", s => s.Phase == ServicePhase.Running);
        var replica = Assert.Single(harness.Shimlet.Snapshot("tiny-m1"));

        var directory = harness.ServiceDirectory("tiny-m1");
        using var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "service.json")));
        var stored = record.RootElement.GetProperty("replicas")[0];

        Assert.Equal("tiny-m1", record.RootElement.GetProperty("spec").GetProperty("serviceId").GetString());
        Assert.Equal((replica.Pid, replica.Port), (stored.GetProperty("pid").GetInt32(), stored.GetProperty("port").GetInt32()));
        Assert.True(stored.GetProperty("startTime").GetUInt64() > 0);
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }
}
