using System.Diagnostics;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Testing.Kubernetes;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

/// <summary>A diagnosis never waits on logs; API throttling is retryable.</summary>
public sealed class KubernetesShimletDiagnosisTests
{
    [Theory]
    [InlineData(PodLogFailure.KubeletUnreachable, "logs unavailable: 500 Get \"https://10.0.0.5:10250/containerLogs/default/")]
    [InlineData(PodLogFailure.ContainerNotStarted, "logs unavailable: 400 container \"model\" in pod \"")]
    public async Task Status_CrashLoopAndLogReadFails_ReportsCrashLoopWithOneLineSayingLogsAreUnavailable(PodLogFailure failure, string expected)
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.PodLogFailure = failure;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.CrashLoopBackOff);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);

        var status = await h.WaitForStatusAsync(s => s.Reason == UnhealthyReason.CrashLoop);

        Assert.Equal((ServicePhase.Failed, true), (status.Phase, status.IsTerminalFailure));
        Assert.Contains("CrashLoopBackOff", status.Message, StringComparison.Ordinal);
        var last = status.Message!.Split('\n')[^1];
        Assert.StartsWith(expected, last, StringComparison.Ordinal);
        Assert.DoesNotContain("Last log lines", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_CrashLoopAndLogReadHangs_ReportsCrashLoopAfterTheLogReadTimeout()
    {
        await using var h = await ShimletHarness.StartAsync(o => o.LogReadTimeout = TimeSpan.FromMilliseconds(300));
        h.Server.PodLogFailure = PodLogFailure.NoAnswer;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.CrashLoopBackOff);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await ShimletHarness.WaitUntilAsync(
            () => h.Server.Store.List(FakeResource.Pods, "default", LabelSelector.Everything).Items.Any(p => p.ToJsonString().Contains("CrashLoopBackOff", StringComparison.Ordinal)),
            "the pod to crash-loop");
        var watch = Stopwatch.StartNew();

        var status = await h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(UnhealthyReason.CrashLoop, status.Reason);
        Assert.EndsWith("logs unavailable: no answer within 0.3 s", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_CrashLoopWithKubeletUnreachable_YieldsTheDiagnosisWithoutRetryingTheStatusRead()
    {
        await using var h = await ShimletHarness.StartAsync();
        h.Server.PodLogFailure = PodLogFailure.KubeletUnreachable;
        h.Server.Controller.SetScenario(ShimletHarness.Namespace, ShimletHarness.Name, PodScenario.CrashLoopBackOff);
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        ShimletStatus? crash = null;
        await foreach (var status in h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token))
        {
            if (status.Reason == UnhealthyReason.CrashLoop)
            {
                crash = status;
                break;
            }
        }

        Assert.NotNull(crash);
        Assert.Contains("logs unavailable: 500", crash.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ListThrottledWith429_IsRetryableWithTheServersRetryAfter()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        h.Server.ThrottleNextLists("pods", 1);

        var error = await Assert.ThrowsAsync<StepException>(() => h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None));

        Assert.Equal((KubernetesErrorTypes.ApiUnavailable, true), (error.ErrorType, error.Retryable));
        Assert.Equal(429, error.Details["statusCode"]);
        Assert.Equal(1, error.Details["retryAfterSeconds"]);
        Assert.Equal(ServicePhase.Running, (await h.Shimlet.GetStatusAsync(ShimletHarness.Target, CancellationToken.None)).Phase);
    }

    [Fact]
    public async Task Watch_ListsThrottledWith429_KeepsGoingAndReportsRunning()
    {
        await using var h = await ShimletHarness.StartAsync();
        await h.Shimlet.ApplyAsync(ShimletHarness.Spec(), CancellationToken.None);
        await h.WaitForStatusAsync(s => s.Phase == ServicePhase.Running);
        h.Server.ThrottleNextLists("pods", 3);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        await using var watch = h.Shimlet.WatchStatusAsync(ShimletHarness.Target, TimeProvider.System, cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServicePhase.Running, watch.Current.Phase);
        Assert.Equal(0, h.Server.ThrottlesLeft("pods")); // all three 429s were answered and retried
    }
}
