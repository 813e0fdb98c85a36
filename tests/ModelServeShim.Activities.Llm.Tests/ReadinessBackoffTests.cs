using Microsoft.Extensions.Time.Testing;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>The probe/read schedule behind readiness: a short first wait, doubling, capped; reset on a change.</summary>
public sealed class ReadinessBackoffTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public void ProbeBackoff_StartsShortDoublesAndCaps()
    {
        var backoff = new ProbeBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500));

        var waits = Enumerable.Range(0, 6).Select(_ => backoff.Next().TotalMilliseconds).ToList();

        Assert.Equal([50, 100, 200, 400, 500, 500], waits);
    }

    [Fact]
    public void ProbeBackoff_Reset_StartsOver()
    {
        var backoff = new ProbeBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5), multiplier: 3);
        _ = backoff.Next();
        _ = backoff.Next();

        backoff.Reset();

        Assert.Equal(TimeSpan.FromMilliseconds(50), backoff.Next());
        Assert.Equal(TimeSpan.FromMilliseconds(150), backoff.Next());
    }

    [Fact]
    public void ProbeBackoff_Wait_IsTheNthWaitOfNext_AndZeroNeverWaits()
    {
        var counted = new ProbeBackoff(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), multiplier: 3);
        var stepped = new ProbeBackoff(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), multiplier: 3);

        Assert.Equal(Enumerable.Range(1, 5).Select(_ => stepped.Next()), Enumerable.Range(1, 5).Select(counted.Wait));
        Assert.Equal([300, 900, 2000], Enumerable.Range(1, 3).Select(n => counted.Wait(n).TotalMilliseconds));
        Assert.Equal(TimeSpan.Zero, new ProbeBackoff(TimeSpan.Zero, TimeSpan.FromSeconds(1)).Next());
    }

    [Theory]
    [InlineData(-1, 100, 2)]
    [InlineData(100, 50, 2)]
    [InlineData(50, 100, 0.5)]
    public void ProbeBackoff_BadSchedule_Throws(int initialMs, int maxMs, double multiplier)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProbeBackoff(TimeSpan.FromMilliseconds(initialMs), TimeSpan.FromMilliseconds(maxMs), multiplier));
    }

    [Fact]
    public async Task DefaultWatch_ReadsAfter50MsThenBacksOffAndStartsOverWhenTheStatusChanges()
    {
        var time = new FakeTimeProvider();
        var shimlet = new ScriptedShimlet { Status = Pending };
        using var cancel = new CancellationTokenSource();
        await using var watch = ((IShimlet)shimlet).WatchStatusAsync(new ServiceTarget("svc"), time, cancel.Token).GetAsyncEnumerator(cancel.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(1, shimlet.Reads);

        // Pending, pending, pending: waits of 50, 100 and 200 ms.
        foreach (var wait in new[] { 50, 100, 200 })
        {
            var next = watch.MoveNextAsync().AsTask();
            time.Advance(TimeSpan.FromMilliseconds(wait - 1));
            Assert.False(next.IsCompleted, $"read before {wait} ms");
            time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(await next.WaitAsync(HangGuard));
        }

        // The read after the 400 ms wait sees Running: the schedule starts over at 50 ms.
        shimlet.Status = Pending with { Phase = ServicePhase.Running, ReadyReplicas = 1, Reason = UnhealthyReason.None };
        var running = watch.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.True(await running.WaitAsync(HangGuard));
        Assert.Equal(ServicePhase.Running, watch.Current.Phase);

        var afterChange = watch.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.True(await afterChange.WaitAsync(HangGuard));
        Assert.Equal(6, shimlet.Reads);
        await cancel.CancelAsync();
    }

    [Fact]
    public void SameState_IgnoresTheMessage()
    {
        Assert.True(ShimletStatus.SameState(Pending, Pending with { Message = "still loading, 12 s" }));
        Assert.False(ShimletStatus.SameState(Pending, Pending with { ReadyReplicas = 1 }));
        Assert.False(ShimletStatus.SameState(Pending, null));
        Assert.True(ShimletStatus.SameState(null, null));
    }

    private static ShimletStatus Pending { get; } = new() { Phase = ServicePhase.Pending, DesiredReplicas = 1, Reason = UnhealthyReason.Pending };

    /// <summary>A shimlet without its own watch: the interface's default is under test.</summary>
    private sealed class ScriptedShimlet : IShimlet
    {
        private int _reads;

        public ShimletStatus Status { get; set; } = Pending;

        public int Reads => Volatile.Read(ref _reads);

        public string Name => "scripted";

        public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            return Task.FromResult(Status);
        }

        public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
