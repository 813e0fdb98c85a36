using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

/// <summary>
/// The watch is driven by the supervisors' signals. Each test gives the watch a <see cref="FakeTimeProvider"/> that is
/// never advanced, and the supervisors a one-minute poll: a status that arrives at all arrived through a signal, not
/// through a read on a timer. (The timeouts below only stop a broken build from hanging; nothing is timed.)
/// </summary>
public sealed class LocalShimletWatchTests
{
    [Fact]
    public async Task Watch_ReplicaBecomesReady_YieldsRunningWithoutWaitingForAPollInterval()
    {
        await using var harness = new LocalHarness(o => o.PollInterval = TimeSpan.FromMinutes(1));
        var spec = harness.Spec("tiny-w1", new Dictionary<string, string> { ["TEST_SERVER_HEALTH_DELAY_MS"] = "500" });
        await harness.Shimlet.ApplyAsync(spec, CancellationToken.None);
        using var hangGuard = new CancellationTokenSource(LocalHarness.Timeout);

        var statuses = new List<ShimletStatus>();
        await foreach (var status in harness.Shimlet.WatchStatusAsync(new ServiceTarget("tiny-w1"), new FakeTimeProvider(), hangGuard.Token))
        {
            statuses.Add(status);
            if (status.Phase != ServicePhase.Pending)
            {
                break;
            }
        }

        Assert.Equal(ServicePhase.Pending, statuses[0].Phase);
        Assert.Equal((ServicePhase.Running, 1, UnhealthyReason.None), (statuses[^1].Phase, statuses[^1].ReadyReplicas, statuses[^1].Reason));
        Assert.True(Assert.Single(harness.Shimlet.Snapshot("tiny-w1")).Ready);
    }

    [Fact]
    public async Task Watch_ProcessExits_YieldsCrashLoopWithoutWaitingForAPollInterval()
    {
        await using var harness = new LocalHarness(o =>
        {
            o.PollInterval = TimeSpan.FromMinutes(1);
            o.MaxRestarts = 0;
        });
        var spec = harness.Spec("tiny-w2", new Dictionary<string, string> { ["TEST_SERVER_CRASH_AFTER_MS"] = "0", ["TEST_SERVER_HEALTH_DELAY_MS"] = "60000" });
        await harness.Shimlet.ApplyAsync(spec, CancellationToken.None);
        using var hangGuard = new CancellationTokenSource(LocalHarness.Timeout);

        ShimletStatus? last = null;
        await foreach (var status in harness.Shimlet.WatchStatusAsync(new ServiceTarget("tiny-w2"), new FakeTimeProvider(), hangGuard.Token))
        {
            last = status;
            if (status.IsTerminalFailure)
            {
                break;
            }
        }

        Assert.Equal((ServicePhase.Failed, UnhealthyReason.CrashLoop), (last!.Phase, last.Reason));
    }
}
