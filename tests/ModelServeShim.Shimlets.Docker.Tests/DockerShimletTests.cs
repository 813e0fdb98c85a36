using Docker.DotNet.Models;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker.Tests;

/// <summary>The Docker shimlet against the real dockerd, with busybox httpd as the "runtime".</summary>
public sealed class DockerShimletTests(DockerHarness docker) : IClassFixture<DockerHarness>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private DockerShimlet Shimlet => docker.Shimlet;

    [Fact]
    public async Task Apply_BusyboxHttpd_IsRunningOnLoopback_AndTheEndpointAnswersHealth()
    {
        var id = docker.NewServiceId("run");
        var port = DockerHarness.FreePorts();

        var applied = await Shimlet.ApplyAsync(docker.Spec(id, port, DockerHarness.Httpd), CancellationToken.None);

        Assert.True(applied.Changed);
        var status = await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running");
        Assert.Equal(new Uri($"http://127.0.0.1:{port}"), status.Endpoint);
        Assert.Equal((1, 1), (status.ReadyReplicas, status.DesiredReplicas));
        Assert.Equal("ok", (await Http.GetStringAsync(new Uri(status.Endpoint!, "/health"))).Trim());
        var container = Assert.Single(await docker.ContainersAsync(id));
        Assert.Equal($"/mss-{id}-0", Assert.Single(container.Names));
        Assert.Equal("model-serve-shim", container.Labels[DockerLabels.ManagedBy]);
        Assert.Equal("tests", container.Labels["team"]);
        var inspect = await docker.Client.Containers.InspectContainerAsync(container.ID);
        Assert.Equal("host", inspect.HostConfig.NetworkMode);
        Assert.Equal(500_000_000, inspect.HostConfig.NanoCPUs);
        Assert.Equal(64L * 1024 * 1024, inspect.HostConfig.Memory);
        Assert.Equal(["busybox", "httpd", "-f", "-p", $"127.0.0.1:{port}", "-h", "/www"], inspect.Config.Entrypoint);
        var mount = Assert.Single(inspect.Mounts);
        Assert.Equal(("/models", false), (mount.Destination, mount.RW));
        Assert.Contains($"PORT={port}", inspect.Config.Env);
    }

    [Fact]
    public async Task Apply_SameSpecTwice_LeavesTheContainer_AndAChangedSpecRecreatesIt()
    {
        var id = docker.NewServiceId("idem");
        var port = DockerHarness.FreePorts();
        var spec = docker.Spec(id, port, DockerHarness.Httpd);

        var first = await Shimlet.ApplyAsync(spec, CancellationToken.None);
        var second = await Shimlet.ApplyAsync(spec, CancellationToken.None);

        Assert.True(first.Changed);
        Assert.False(second.Changed);
        Assert.Equal(first.ResourceIds, second.ResourceIds);
        Assert.Equal(first.ResourceIds.Single(), $"docker/container/{Assert.Single(await docker.ContainersAsync(id)).ID}");

        var changed = await Shimlet.ApplyAsync(spec with { Environment = new Dictionary<string, string> { ["X"] = "1" } }, CancellationToken.None);

        Assert.True(changed.Changed);
        Assert.NotEqual(first.ResourceIds, changed.ResourceIds);
        Assert.Single(await docker.ContainersAsync(id));
        await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running after the update");
    }

    [Fact]
    public async Task Scale_OneToTwoToOne_AddsAndRemovesReplicaContainers_AndZeroStops()
    {
        var id = docker.NewServiceId("scale");
        var port = DockerHarness.FreePorts(2);
        await Shimlet.ApplyAsync(docker.Spec(id, port, DockerHarness.Httpd), CancellationToken.None);
        await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running");

        await Shimlet.ScaleAsync(new ServiceTarget(id), 2, CancellationToken.None);

        var two = await docker.WaitForStatusAsync(id, s => s is { Phase: ServicePhase.Running, ReadyReplicas: 2 }, "2 ready replicas");
        Assert.Equal(2, two.DesiredReplicas);
        Assert.Equal(["0", "1"], (await docker.ContainersAsync(id)).Select(c => c.Labels[DockerLabels.Replica]).Order());
        Assert.Equal("ok", (await Http.GetStringAsync(new Uri($"http://127.0.0.1:{port + 1}/health"))).Trim());
        Assert.Equal([new Uri($"http://127.0.0.1:{port}"), new Uri($"http://127.0.0.1:{port + 1}")], two.ReplicaEndpoints.Order(Comparer<Uri>.Create((a, b) => a.Port.CompareTo(b.Port))));

        await Shimlet.ScaleAsync(new ServiceTarget(id), 1, CancellationToken.None);

        var one = await docker.WaitForStatusAsync(id, s => s is { Phase: ServicePhase.Running, ReadyReplicas: 1 }, "1 ready replica");
        Assert.Equal(1, one.DesiredReplicas);
        Assert.Equal("0", Assert.Single(await docker.ContainersAsync(id)).Labels[DockerLabels.Replica]);

        await Shimlet.ScaleAsync(new ServiceTarget(id), 0, CancellationToken.None);

        Assert.Equal(ServicePhase.Stopped, (await Shimlet.GetStatusAsync(new ServiceTarget(id), CancellationToken.None)).Phase);

        await Shimlet.ScaleAsync(new ServiceTarget(id), 1, CancellationToken.None);

        await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running after scaling up from zero");
    }

    [Fact]
    public async Task Status_ContainerThatExitsAtOnce_IsCrashLoopWithItsLastLogLines()
    {
        var id = docker.NewServiceId("crash");
        await Shimlet.ApplyAsync(docker.Spec(id, DockerHarness.FreePorts(), ["busybox", "sh", "-c", "echo giving up >&2; exit 3"]), CancellationToken.None);

        var status = await docker.WaitForStatusAsync(id, s => s.Reason == UnhealthyReason.CrashLoop, "CrashLoop");

        Assert.Equal(ServicePhase.Failed, status.Phase);
        Assert.True(status.IsTerminalFailure);
        Assert.Contains("exit code 3", status.Message, StringComparison.Ordinal);
        Assert.Contains("giving up", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_ImageThatIsNotOnTheHost_IsImageUnavailable_UntilDeleted()
    {
        var id = docker.NewServiceId("noimage");

        var applied = await Shimlet.ApplyAsync(docker.Spec(id, DockerHarness.FreePorts(), DockerHarness.Httpd, image: "modelserveshim/absent:never"), CancellationToken.None);

        Assert.Empty(applied.ResourceIds);
        var status = await Shimlet.GetStatusAsync(new ServiceTarget(id), CancellationToken.None);
        Assert.Equal((ServicePhase.Failed, UnhealthyReason.ImageUnavailable), (status.Phase, status.Reason));
        Assert.Contains("modelserveshim/absent:never", status.Message, StringComparison.Ordinal);

        await Shimlet.DeleteAsync(new ServiceTarget(id), CancellationToken.None);

        Assert.Equal(ServicePhase.NotFound, (await Shimlet.GetStatusAsync(new ServiceTarget(id), CancellationToken.None)).Phase);
    }

    [Fact]
    public async Task Delete_RemovesOnlyTheLabelledContainers_AndAgainIsNoError()
    {
        var id = docker.NewServiceId("del");
        await Shimlet.ApplyAsync(docker.Spec(id, DockerHarness.FreePorts(), DockerHarness.Httpd), CancellationToken.None);
        var foreign = await docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"mss-{id}-9",
            Image = DockerHarness.TestImage,
            Cmd = ["busybox", "sleep", "60"],
            HostConfig = new HostConfig { NetworkMode = "host" },
        });
        try
        {
            await Shimlet.DeleteAsync(new ServiceTarget(id), CancellationToken.None);
            await Shimlet.DeleteAsync(new ServiceTarget(id), CancellationToken.None);

            Assert.Empty(await docker.ContainersAsync(id));
            Assert.Equal(ServicePhase.NotFound, (await Shimlet.GetStatusAsync(new ServiceTarget(id), CancellationToken.None)).Phase);
            var survivor = await docker.Client.Containers.InspectContainerAsync(foreign.ID);
            Assert.Equal($"/mss-{id}-9", survivor.Name);
        }
        finally
        {
            await docker.Client.Containers.RemoveContainerAsync(foreign.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    [Fact]
    public async Task Logs_TailStdoutAndStderr_InOrder()
    {
        var id = docker.NewServiceId("logs");
        var port = DockerHarness.FreePorts();
        // stdout and stderr are separate pipes: Docker timestamps lines as it reads them, so the lines are spaced out.
        string[] command = ["busybox", "sh", "-c", "echo one; busybox sleep 0.2; echo two >&2; busybox sleep 0.2; echo three; exec busybox httpd -f -p 127.0.0.1:$PORT -h /www"];
        await Shimlet.ApplyAsync(docker.Spec(id, port, command), CancellationToken.None);
        await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running");

        var all = await Shimlet.GetLogsAsync(new ServiceTarget(id), 10, CancellationToken.None);
        var tail = await Shimlet.GetLogsAsync(new ServiceTarget(id), 2, CancellationToken.None);

        Assert.Equal(["one", "two", "three"], all);
        Assert.Equal(["two", "three"], tail);
    }
}
