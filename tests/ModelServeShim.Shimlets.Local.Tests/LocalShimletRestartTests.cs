using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

public sealed class LocalShimletRestartTests
{
    [Fact]
    public async Task Crash_IsRestartedAfterExponentialBackoff()
    {
        await using var harness = new LocalHarness(o => o.RestartInitialDelay = TimeSpan.FromMilliseconds(500));
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-h1"), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-h1", s => s.Phase == ServicePhase.Running);
        var firstPid = Assert.Single(harness.Shimlet.Snapshot("tiny-h1")).Pid!.Value;

        LocalHarness.KillHard(firstPid);
        await LocalHarness.WaitUntilAsync(() => harness.Shimlet.Snapshot("tiny-h1")[0] is { Pid: { } p } && p != firstPid, "the first restart");
        var afterFirst = harness.Shimlet.Snapshot("tiny-h1")[0];
        await harness.WaitForStatusAsync("tiny-h1", s => s.Phase == ServicePhase.Running);

        LocalHarness.KillHard(afterFirst.Pid!.Value);
        await LocalHarness.WaitUntilAsync(() => harness.Shimlet.Snapshot("tiny-h1")[0] is { Pid: { } p } && p != afterFirst.Pid, "the second restart");
        var afterSecond = harness.Shimlet.Snapshot("tiny-h1")[0];
        var status = await harness.WaitForStatusAsync("tiny-h1", s => s.Phase == ServicePhase.Running);

        Assert.True(afterFirst.StartedAt - afterFirst.LastExitAt >= TimeSpan.FromMilliseconds(500), $"first delay {afterFirst.StartedAt - afterFirst.LastExitAt}");
        Assert.True(afterSecond.StartedAt - afterSecond.LastExitAt >= TimeSpan.FromMilliseconds(1000), $"second delay {afterSecond.StartedAt - afterSecond.LastExitAt}");
        Assert.Equal((2, afterFirst.Port), (afterSecond.Restarts, afterSecond.Port));
        Assert.Equal(1, status.ReadyReplicas);
    }

    [Fact]
    public async Task Crash_WithExitCode_IsRestartedAndRecovers()
    {
        await using var harness = new LocalHarness();
        var spec = harness.Spec("tiny-i1", new Dictionary<string, string>
        {
            ["TEST_SERVER_CRASH_AFTER_MS"] = "200",
            ["TEST_SERVER_CRASH_ONCE_MARKER"] = Path.Combine(harness.StateDirectory, "crashed-i1"),
        });

        await harness.Shimlet.ApplyAsync(spec, CancellationToken.None);
        await LocalHarness.WaitUntilAsync(() => harness.Shimlet.Snapshot("tiny-i1")[0].Restarts == 1, "a restart");
        var status = await harness.WaitForStatusAsync("tiny-i1", s => s.Phase == ServicePhase.Running);

        var replica = Assert.Single(harness.Shimlet.Snapshot("tiny-i1"));
        Assert.Equal((3, 1), (replica.LastExitCode, replica.Restarts));
        Assert.Equal(UnhealthyReason.None, status.Reason);
    }

    [Fact]
    public async Task KeepsCrashing_StopsRestartingAndReportsCrashLoopWithLastLogLines()
    {
        await using var harness = new LocalHarness(o =>
        {
            o.MaxRestarts = 2;
            o.RestartInitialDelay = TimeSpan.FromMilliseconds(100);
        });
        var spec = harness.Spec("tiny-j1", new Dictionary<string, string> { ["TEST_SERVER_CRASH_AFTER_MS"] = "0", ["TEST_SERVER_EXIT_CODE"] = "7" });

        await harness.Shimlet.ApplyAsync(spec, CancellationToken.None);
        var status = await harness.WaitForStatusAsync("tiny-j1", s => s.Reason == UnhealthyReason.CrashLoop);

        Assert.Equal((ServicePhase.Failed, 0, 1), (status.Phase, status.ReadyReplicas, status.DesiredReplicas));
        Assert.True(status.IsTerminalFailure);
        Assert.Contains("crashed 3 times", status.Message, StringComparison.Ordinal);
        Assert.Contains("last: exit code 7", status.Message, StringComparison.Ordinal);
        Assert.Contains("Last log lines:\n", status.Message, StringComparison.Ordinal);
        Assert.Contains("test-server crashing with exit code 7", status.Message, StringComparison.Ordinal);
        var replica = Assert.Single(harness.Shimlet.Snapshot("tiny-j1"));
        Assert.Equal((ReplicaState.CrashLoop, null, 2), (replica.State, replica.Pid, replica.Restarts));

        await Task.Delay(1000);
        Assert.Equal((ReplicaState.CrashLoop, 2), (harness.Shimlet.Snapshot("tiny-j1")[0].State, harness.Shimlet.Snapshot("tiny-j1")[0].Restarts));
    }
}
