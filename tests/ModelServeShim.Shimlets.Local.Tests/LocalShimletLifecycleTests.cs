using System.Net;
using System.Net.Sockets;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

public sealed class LocalShimletLifecycleTests
{
    [Fact]
    public async Task Apply_NewSpec_RunsWithEndpointAnsweringHealth()
    {
        await using var harness = new LocalHarness();

        var result = await harness.Shimlet.ApplyAsync(harness.Spec("tiny-a1"), CancellationToken.None);
        var status = await harness.WaitForStatusAsync("tiny-a1", s => s.Phase == ServicePhase.Running);

        Assert.True(result.Changed);
        Assert.Equal(["local/replica/tiny-a1/0"], result.ResourceIds);
        Assert.Equal((1, 1, UnhealthyReason.None), (status.ReadyReplicas, status.DesiredReplicas, status.Reason));
        Assert.Equal("127.0.0.1", status.Endpoint!.Host);
        Assert.Equal([status.Endpoint], status.ReplicaEndpoints);
        using var health = await LocalHarness.Http.GetAsync(new Uri(status.Endpoint, "/health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task ResourceUsage_RunningReplica_ReportsItsProcessCpuAndResidentMemory()
    {
        await using var harness = new LocalHarness();
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-u1"), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-u1", s => s.Phase == ServicePhase.Running);

        var usage = await harness.Shimlet.GetResourceUsageAsync(new ServiceTarget("tiny-u1"), CancellationToken.None);
        var unknown = await harness.Shimlet.GetResourceUsageAsync(new ServiceTarget("nobody"), CancellationToken.None);

        var replica = Assert.Single(usage);
        Assert.Equal("0", replica.Replica);
        Assert.True(replica.ResidentBytes > 1_000_000, $"resident {replica.ResidentBytes} bytes"); // a live .NET process is megabytes
        Assert.True(replica.CpuSeconds > 0, $"cpu {replica.CpuSeconds} s"); // it started a runtime: it has used CPU
        Assert.Empty(unknown);
    }

    [Fact]
    public async Task Apply_SlowHealth_IsPendingUntilHealthy()
    {
        await using var harness = new LocalHarness();
        var spec = harness.Spec("tiny-slow", new Dictionary<string, string> { ["TEST_SERVER_HEALTH_DELAY_MS"] = "3000" });

        await harness.Shimlet.ApplyAsync(spec, CancellationToken.None);
        var pending = await harness.WaitForStatusAsync("tiny-slow", s => s.Phase != ServicePhase.NotFound);
        var running = await harness.WaitForStatusAsync("tiny-slow", s => s.Phase == ServicePhase.Running);

        Assert.Equal((ServicePhase.Pending, UnhealthyReason.Pending, 0), (pending.Phase, pending.Reason, pending.ReadyReplicas));
        Assert.Empty(pending.ReplicaEndpoints); // not ready: the gateway must not send it requests
        Assert.Equal(1, running.ReadyReplicas);
    }

    [Fact]
    public async Task Apply_SameSpecTwice_KeepsProcess()
    {
        await using var harness = new LocalHarness();
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-b1", new Dictionary<string, string> { ["A"] = "1", ["B"] = "2" }), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-b1", s => s.Phase == ServicePhase.Running);
        var pid = Assert.Single(harness.Shimlet.Snapshot("tiny-b1")).Pid;

        // Same content, different dictionary order.
        var again = await harness.Shimlet.ApplyAsync(harness.Spec("tiny-b1", new Dictionary<string, string> { ["B"] = "2", ["A"] = "1" }), CancellationToken.None);

        Assert.False(again.Changed);
        var replica = Assert.Single(harness.Shimlet.Snapshot("tiny-b1"));
        Assert.Equal((pid, 0), (replica.Pid, replica.Restarts));
        Assert.True(LocalHarness.IsAlive(pid!.Value));
    }

    [Fact]
    public async Task Apply_ChangedSpec_ReplacesProcessGracefullyOnTheSamePort()
    {
        await using var harness = new LocalHarness();
        var marker = Path.Combine(harness.StateDirectory, "sigterm-c1");
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-c1", new Dictionary<string, string> { ["TEST_SERVER_SIGTERM_MARKER"] = marker, ["V"] = "1" }), CancellationToken.None);
        var before = await harness.WaitForStatusAsync("tiny-c1", s => s.Phase == ServicePhase.Running);
        var oldPid = Assert.Single(harness.Shimlet.Snapshot("tiny-c1")).Pid!.Value;

        var result = await harness.Shimlet.ApplyAsync(harness.Spec("tiny-c1", new Dictionary<string, string> { ["TEST_SERVER_SIGTERM_MARKER"] = marker, ["V"] = "2" }), CancellationToken.None);
        var after = await harness.WaitForStatusAsync("tiny-c1", s => s.Phase == ServicePhase.Running);

        Assert.True(result.Changed);
        Assert.NotEqual(oldPid, Assert.Single(harness.Shimlet.Snapshot("tiny-c1")).Pid);
        Assert.False(LocalHarness.IsAlive(oldPid));
        Assert.Equal(oldPid.ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllTextAsync(marker));
        Assert.Equal(before.Endpoint, after.Endpoint);
    }

    [Fact]
    public async Task Scale_OneToTwoToOne_AddsAndRemovesReplicaProcesses()
    {
        await using var harness = new LocalHarness();
        var target = new ServiceTarget("tiny-d1");
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-d1"), CancellationToken.None);
        var one = await harness.WaitForStatusAsync("tiny-d1", s => s.Phase == ServicePhase.Running);
        var first = Assert.Single(harness.Shimlet.Snapshot("tiny-d1"));

        await harness.Shimlet.ScaleAsync(target, 2, CancellationToken.None);
        var two = await harness.WaitForStatusAsync("tiny-d1", s => s is { Phase: ServicePhase.Running, ReadyReplicas: 2 });
        var replicas = harness.Shimlet.Snapshot("tiny-d1");

        Assert.Equal(2, two.DesiredReplicas);
        Assert.Equal(first.Pid, replicas[0].Pid);
        Assert.NotEqual(replicas[0].Port, replicas[1].Port);
        Assert.Equal(one.Endpoint, two.Endpoint);
        Assert.Equal(replicas.Select(r => new Uri($"http://127.0.0.1:{r.Port}")), two.ReplicaEndpoints);
        using (var health = await LocalHarness.Http.GetAsync(new Uri($"http://127.0.0.1:{replicas[1].Port}/health")))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        await harness.Shimlet.ScaleAsync(target, 1, CancellationToken.None);
        var back = await harness.Shimlet.GetStatusAsync(target, CancellationToken.None);

        Assert.Equal((ServicePhase.Running, 1, 1), (back.Phase, back.ReadyReplicas, back.DesiredReplicas));
        Assert.Equal(first.Pid, Assert.Single(harness.Shimlet.Snapshot("tiny-d1")).Pid);
        Assert.False(LocalHarness.IsAlive(replicas[1].Pid!.Value));
        Assert.True(IsFree(replicas[1].Port));
    }

    [Fact]
    public async Task Scale_UnknownService_ThrowsServiceNotFound()
    {
        await using var harness = new LocalHarness();

        var error = await Assert.ThrowsAsync<StepException>(() => harness.Shimlet.ScaleAsync(new ServiceTarget("nope-1"), 2, CancellationToken.None));

        Assert.Equal((LocalErrorTypes.ServiceNotFound, false), (error.ErrorType, error.Retryable));
    }

    [Fact]
    public async Task Apply_MissingExecutable_ThrowsNonRetryableExecutableNotFound()
    {
        await using var harness = new LocalHarness();
        var spec = harness.Spec("tiny-e1") with { Command = ["definitely-not-a-runtime-5f3a"] };

        var error = await Assert.ThrowsAsync<StepException>(() => harness.Shimlet.ApplyAsync(spec, CancellationToken.None));

        Assert.Equal((LocalErrorTypes.ExecutableNotFound, false), (error.ErrorType, error.Retryable));
        Assert.Contains("'definitely-not-a-runtime-5f3a'", error.Message, StringComparison.Ordinal);
        Assert.Equal("definitely-not-a-runtime-5f3a", error.Details["executable"]);
        var status = await harness.Shimlet.GetStatusAsync(new ServiceTarget("tiny-e1"), CancellationToken.None);
        Assert.Equal(ServicePhase.NotFound, status.Phase);
    }

    [Fact]
    public async Task Apply_MissingExecutablePath_ThrowsExecutableNotFound()
    {
        await using var harness = new LocalHarness();
        var spec = harness.Spec("tiny-e2") with { Command = ["/nonexistent/bin/llama-server", "--verbose"] };

        var error = await Assert.ThrowsAsync<StepException>(() => harness.Shimlet.ApplyAsync(spec, CancellationToken.None));

        Assert.Equal(LocalErrorTypes.ExecutableNotFound, error.ErrorType);
        Assert.Contains("/nonexistent/bin/llama-server", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_StopsWithSigtermFreesPortAndKeepsOnlyLogs()
    {
        await using var harness = new LocalHarness();
        var marker = Path.Combine(harness.StateDirectory, "sigterm-f1");
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-f1", new Dictionary<string, string> { ["TEST_SERVER_SIGTERM_MARKER"] = marker }), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-f1", s => s.Phase == ServicePhase.Running);
        var replica = Assert.Single(harness.Shimlet.Snapshot("tiny-f1"));
        var directory = harness.ServiceDirectory("tiny-f1");

        await harness.Shimlet.DeleteAsync(new ServiceTarget("tiny-f1"), CancellationToken.None);

        Assert.False(LocalHarness.IsAlive(replica.Pid!.Value));
        Assert.Equal(replica.Pid.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllTextAsync(marker));
        Assert.True(IsFree(replica.Port));
        Assert.Equal(ServicePhase.NotFound, (await harness.Shimlet.GetStatusAsync(new ServiceTarget("tiny-f1"), CancellationToken.None)).Phase);
        Assert.False(File.Exists(Path.Combine(directory, "service.json")));
        Assert.False(Directory.Exists(Path.Combine(directory, "work")));
        Assert.True(File.Exists(Path.Combine(directory, "logs", "replica-0.log")));
        var logs = await harness.Shimlet.GetLogsAsync(new ServiceTarget("tiny-f1"), 50, CancellationToken.None);
        Assert.Contains("test-server got SIGTERM", logs);

        await harness.Shimlet.DeleteAsync(new ServiceTarget("tiny-f1"), CancellationToken.None); // gone already: fine
        await harness.Shimlet.DeleteAsync(new ServiceTarget("never-existed-1"), CancellationToken.None);
    }

    [Fact]
    public async Task Delete_ProcessIgnoringSigterm_IsKilledAfterTheGracePeriod()
    {
        await using var harness = new LocalHarness(o => o.StopGracePeriod = TimeSpan.FromSeconds(1));
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-g1", new Dictionary<string, string> { ["TEST_SERVER_IGNORE_SIGTERM"] = "1" }), CancellationToken.None);
        await harness.WaitForStatusAsync("tiny-g1", s => s.Phase == ServicePhase.Running);
        var pid = Assert.Single(harness.Shimlet.Snapshot("tiny-g1")).Pid!.Value;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await harness.Shimlet.DeleteAsync(new ServiceTarget("tiny-g1"), CancellationToken.None);

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"deleted after {clock.Elapsed}");
        Assert.False(LocalHarness.IsAlive(pid));
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
