using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>The one phase/reason rule of the shimlets that run replicas themselves (Docker, local).</summary>
public sealed class ReplicaHealthTests
{
    private static readonly Uri Service = new("http://127.0.0.1:8080");

    private static ReplicaReading Ready(int port) => new(new Uri($"http://127.0.0.1:{port}"), Ready: true);

    private static ReplicaReading NotReady(int port, UnhealthyReason problem, string message) => new(new Uri($"http://127.0.0.1:{port}"), Ready: false, problem, message);

    [Fact]
    public void AllReady_Running_WithEveryReplicaEndpoint_AndNoReason()
    {
        var status = ReplicaHealth.Aggregate([Ready(8080), Ready(8081)], Service);

        Assert.Equal((ServicePhase.Running, 2, 2, UnhealthyReason.None, (string?)null), (status.Phase, status.ReadyReplicas, status.DesiredReplicas, status.Reason, status.Message));
        Assert.Equal([new Uri("http://127.0.0.1:8080"), new Uri("http://127.0.0.1:8081")], status.ReplicaEndpoints);
        Assert.Equal(Service, status.Endpoint);
    }

    [Fact]
    public void NoneReady_Pending_JoinsThePendingMessages()
    {
        var status = ReplicaHealth.Aggregate([NotReady(8080, UnhealthyReason.Pending, "replica 0 loads"), NotReady(8081, UnhealthyReason.None, "replica 1 starts")], Service);

        Assert.Equal((ServicePhase.Pending, 0, UnhealthyReason.Pending), (status.Phase, status.ReadyReplicas, status.Reason));
        Assert.Equal("replica 0 loads; replica 1 starts", status.Message);
        Assert.Empty(status.ReplicaEndpoints);
    }

    [Fact]
    public void SomeReady_Degraded_EvenWithACrashLoop()
    {
        var status = ReplicaHealth.Aggregate([Ready(8080), NotReady(8081, UnhealthyReason.CrashLoop, "replica 1 crashed")], Service);

        Assert.Equal((ServicePhase.Degraded, 1, 2, UnhealthyReason.CrashLoop), (status.Phase, status.ReadyReplicas, status.DesiredReplicas, status.Reason));
        Assert.Equal([new Uri("http://127.0.0.1:8080")], status.ReplicaEndpoints);
    }

    [Fact]
    public void NoneReady_WorstProblemWins_CrashLoopOverFailedOverPending()
    {
        var status = ReplicaHealth.Aggregate(
            [NotReady(8080, UnhealthyReason.Pending, "replica 0 loads"), NotReady(8081, UnhealthyReason.Failed, "replica 1 late"), NotReady(8082, UnhealthyReason.CrashLoop, "replica 2 crashed")],
            Service);

        Assert.Equal((ServicePhase.Failed, UnhealthyReason.CrashLoop, "replica 2 crashed"), (status.Phase, status.Reason, status.Message));
        Assert.True(status.IsTerminalFailure);
    }

    [Fact]
    public void NoReplicas_Throws_AStoppedServiceIsTheShimletsToSay()
    {
        Assert.Throws<ArgumentException>(() => ReplicaHealth.Aggregate([], Service));
    }
}
