using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletWatchTests
{
    private const int WatchedResources = 3; // pods, deployments, statefulsets

    [Fact]
    public async Task Watch_PodsBecomeReady_YieldsPendingThenRunning()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.Pending);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServicePhase.Pending, watch.Current.Phase);
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to open");

        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);

        Assert.Equal(ServicePhase.Running, (await NextUntilAsync(watch, s => s.Phase == ServicePhase.Running)).Phase);
        Assert.Equal(1, h.Server.ListCount("pods"));
        Assert.Equal(1, h.Server.WatchCount("pods"));
    }

    [Fact]
    public async Task Watch_ErrorEvent410Expired_RelistsAndKeepsReporting()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.Pending);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to open");

        h.Server.Store.ExpireWatches();

        await ShimletHarness.WaitUntilAsync(() => h.Server.ListCount("pods") == 2 && h.Server.ListCount("deployments") == 2, "a re-list after 410 Expired");
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to reopen");
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);
        Assert.Equal(ServicePhase.Running, (await NextUntilAsync(watch, s => s.Phase == ServicePhase.Running)).Phase);
    }

    [Fact]
    public async Task Watch_HttpGoneOnWatchRequest_RelistsAndKeepsReporting()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.Pending);
        h.Server.FailNextWatchesWithGone(WatchedResources);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());

        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to open after 410 Gone");
        // Three first lists, and one re-list for each of the three 410 answers (whichever watch received them).
        Assert.Equal(6, h.Server.ListCount("pods") + h.Server.ListCount("deployments") + h.Server.ListCount("statefulsets"));
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);
        Assert.Equal(ServicePhase.Running, (await NextUntilAsync(watch, s => s.Phase == ServicePhase.Running)).Phase);
    }

    [Fact]
    public async Task Watch_DroppedConnection_ReconnectsAfterBackoffOnTheInjectedTimeProviderWithoutRelisting()
    {
        await using var h = await ShimletHarness.StartAsync(o =>
        {
            o.WatchReconnectInitialDelay = TimeSpan.FromSeconds(30);
            o.WatchReconnectMaxDelay = TimeSpan.FromMinutes(5);
        });
        var time = new FakeTimeProvider();
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Hold);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.Pending);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, time, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to open");
        var lists = h.Server.ListCount("pods");
        var watches = h.Server.WatchCount("pods");

        h.Server.Store.DropWatchConnections();

        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == 0, "the connections to drop");
        await Task.Delay(300);
        Assert.Equal(watches, h.Server.WatchCount("pods")); // waiting on the fake clock, not the real one
        await ShimletHarness.WaitUntilAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(30));
            return h.Server.Store.OpenWatchCount == WatchedResources;
        }, "the watches to reconnect");
        Assert.Equal(watches + 1, h.Server.WatchCount("pods"));
        Assert.Equal(lists, h.Server.ListCount("pods")); // resumed from the last resourceVersion

        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.Ready);
        Assert.Equal(ServicePhase.Running, (await NextUntilAsync(watch, s => s.Phase == ServicePhase.Running)).Phase);
    }

    [Fact]
    public async Task Watch_Cancelled_ClosesItsWatches()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watch.MoveNextAsync());
        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == WatchedResources, "the watches to open");

        await watch.DisposeAsync();

        await ShimletHarness.WaitUntilAsync(() => h.Server.Store.OpenWatchCount == 0, "the watches to close");
    }

    private static async Task<ShimletStatus> NextUntilAsync(IAsyncEnumerator<ShimletStatus> watch, Func<ShimletStatus, bool> until)
    {
        while (await watch.MoveNextAsync())
        {
            if (until(watch.Current))
            {
                return watch.Current;
            }
        }

        throw new InvalidOperationException("The watch ended.");
    }
}
