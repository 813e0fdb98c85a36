using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.Shimlets.Docker.Tests;

/// <summary>
/// The Docker shimlet with the real runtime image, <c>modelserveshim/llama-runtime:&lt;version&gt;</c>
/// (<c>bash scripts/build-image.sh --runtime</c>), serving the sample GGUF; and the failures it diagnoses.
/// </summary>
public sealed class LlamaRuntimeTests(DockerHarness docker) : IClassFixture<DockerHarness>, IAsyncLifetime
{
    private static readonly string RuntimeImage =
        $"modelserveshim/llama-runtime:{typeof(LlamaRuntimeTests).Assembly.GetName().Version!.ToString(3)}";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly string _modelDir = Directory.CreateTempSubdirectory("mss-docker-gguf").FullName;

    private DockerShimlet Shimlet => docker.Shimlet;

    public async Task InitializeAsync()
    {
        try
        {
            await docker.Client.Images.InspectImageAsync(RuntimeImage);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"The runtime image {RuntimeImage} is missing: run `bash scripts/build-image.sh --runtime`.", e);
        }

        await SampleModelGenerator.WriteFileAsync(Path.Combine(_modelDir, "sample", "sample.gguf"));
        // The runtime runs as uid 10001: the mount (a 0700 temp directory) must be readable by others.
        foreach (var path in Directory.EnumerateFileSystemEntries(_modelDir, "*", SearchOption.AllDirectories).Prepend(_modelDir))
        {
            if (OperatingSystem.IsWindows())
            {
                break;
            }

            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.OtherRead | (Directory.Exists(path) ? UnixFileMode.OtherExecute : 0));
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_modelDir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>The spec config-rendering makes with the llama-container profile (its arguments, the model under /models).</summary>
    private DeploymentSpec Spec(string serviceId, int port, string memory = "512Mi", string model = "/models/sample/sample.gguf") =>
        docker.Spec(serviceId, port, []) with
        {
            ModelName = "sample",
            Runtime = "llama-container",
            Image = RuntimeImage,
            Args = ["--model", model, "--alias", "sample", "--ctx-size", "256", "--threads", "1"],
            Resources = new ResourceSpec("1", memory, null, 0),
            ModelPath = _modelDir,
        };

    [Fact]
    public async Task RuntimeImage_ServesTheSampleGguf_ScalesToTwo_AndAnotherShimletAdoptsTheContainers()
    {
        var id = docker.NewServiceId("llama");
        var port = DockerHarness.FreePorts(2);
        var spec = Spec(id, port);

        await Shimlet.ApplyAsync(spec, CancellationToken.None);

        var running = await docker.WaitForStatusAsync(id, s => s.Phase == ServicePhase.Running, "Running");
        Assert.Equal(new Uri($"http://127.0.0.1:{port}"), running.Endpoint);
        await AssertCompletesAsync(running.Endpoint!);
        var container = Assert.Single(await docker.ContainersAsync(id));
        var inspect = await docker.Client.Containers.InspectContainerAsync(container.ID);
        Assert.Equal(("host", 1_000_000_000L, 512L * 1024 * 1024), (inspect.HostConfig.NetworkMode, inspect.HostConfig.NanoCPUs, inspect.HostConfig.Memory));
        Assert.Equal(RestartPolicyKind.OnFailure, inspect.HostConfig.RestartPolicy.Name);
        Assert.Equal(("/models", false), (Assert.Single(inspect.Mounts).Destination, Assert.Single(inspect.Mounts).RW));
        Assert.Equal(id, inspect.Config.Labels[DockerLabels.ServiceId]);
        Assert.Equal(["/usr/local/bin/model-serve-shim-llama"], inspect.Config.Entrypoint);

        await Shimlet.ScaleAsync(new ServiceTarget(id), 2, CancellationToken.None);

        var two = await docker.WaitForStatusAsync(id, s => s is { Phase: ServicePhase.Running, ReadyReplicas: 2 }, "2 ready replicas");
        Assert.Equal(2, two.ReplicaEndpoints.Count);
        await AssertCompletesAsync(new Uri($"http://127.0.0.1:{port + 1}"));
        var before = (await docker.ContainersAsync(id)).Select(c => c.ID).Order().ToList();
        var usage = await Shimlet.GetResourceUsageAsync(new ServiceTarget(id), CancellationToken.None);
        Assert.Equal(["0", "1"], usage.Select(u => u.Replica));
        Assert.All(usage, u => Assert.True(u is { CpuSeconds: > 0, ResidentBytes: > 1_000_000 }, $"{u}")); // each container runs a loaded model

        // A control plane that restarted has a new shimlet with no memory: it finds the containers by label and
        // applying the same spec keeps them.
        var restarted = new DockerShimlet(new DockerShimletOptions { StopGracePeriod = TimeSpan.FromSeconds(1) }, NullLogger.Instance);
        var status = await restarted.GetStatusAsync(new ServiceTarget(id), CancellationToken.None);
        var applied = await restarted.ApplyAsync(spec with { Replicas = 2 }, CancellationToken.None);

        Assert.Equal((ServicePhase.Running, 2), (status.Phase, status.ReadyReplicas));
        Assert.False(applied.Changed);
        Assert.Equal(before, (await docker.ContainersAsync(id)).Select(c => c.ID).Order());

        await restarted.DeleteAsync(new ServiceTarget(id), CancellationToken.None);

        Assert.Empty(await docker.ContainersAsync(id));
    }

    [Fact]
    public async Task Apply_WithGpus_OnAHostWithoutTheNvidiaRuntime_FailsNotRetryable_NamingTheToolkit_AfterRequestingTheDevices()
    {
        var id = docker.NewServiceId("gpu");
        var spec = Spec(id, DockerHarness.FreePorts()) with { Resources = new ResourceSpec("1", "512Mi", "nvidia-l4", 2) };

        var error = await Assert.ThrowsAsync<StepException>(() => Shimlet.ApplyAsync(spec, CancellationToken.None));

        Assert.Equal(DockerErrorTypes.GpuUnavailable, error.ErrorType);
        Assert.False(error.Retryable);
        Assert.Contains("NVIDIA Container Toolkit", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not select device driver", error.Message, StringComparison.Ordinal);
        var inspect = await docker.Client.Containers.InspectContainerAsync(Assert.Single(await docker.ContainersAsync(id)).ID);
        var request = Assert.Single(inspect.HostConfig.DeviceRequests);
        Assert.Equal(("nvidia", 2L), (request.Driver, request.Count));
        Assert.Equal([["gpu"]], request.Capabilities);
        var status = await Shimlet.GetStatusAsync(new ServiceTarget(id), CancellationToken.None);
        Assert.Equal((ServicePhase.Failed, UnhealthyReason.Failed), (status.Phase, status.Reason));
    }

    [Fact]
    public async Task Apply_WithAnAcceleratorTypeThatHasDevices_RequestsThoseDeviceIds()
    {
        var options = new DockerShimletOptions { StopGracePeriod = TimeSpan.FromSeconds(1) };
        options.AcceleratorDevices["nvidia-l4"] = ["GPU-aaaa", "GPU-bbbb", "GPU-cccc"];
        var shimlet = new DockerShimlet(options, NullLogger.Instance);
        var id = docker.NewServiceId("gpuids");
        var spec = Spec(id, DockerHarness.FreePorts()) with { Resources = new ResourceSpec("1", "512Mi", "nvidia-l4", 2) };

        await Assert.ThrowsAsync<StepException>(() => shimlet.ApplyAsync(spec, CancellationToken.None));

        var inspect = await docker.Client.Containers.InspectContainerAsync(Assert.Single(await docker.ContainersAsync(id)).ID);
        var request = Assert.Single(inspect.HostConfig.DeviceRequests);
        Assert.Equal(["GPU-aaaa", "GPU-bbbb"], request.DeviceIDs);
        var tooMany = await Assert.ThrowsAsync<StepException>(() => shimlet.ApplyAsync(spec with { Resources = spec.Resources with { AcceleratorCount = 4 } }, CancellationToken.None));
        Assert.Equal(DockerErrorTypes.InvalidSpec, tooMany.ErrorType);
    }

    [Fact]
    public async Task Status_RuntimeThatExitsAtOnce_IsCrashLoopWithTheRuntimesLastLogLines()
    {
        var id = docker.NewServiceId("nomodel");

        await Shimlet.ApplyAsync(Spec(id, DockerHarness.FreePorts(), model: "/models/absent.gguf"), CancellationToken.None);

        var status = await docker.WaitForStatusAsync(id, s => s.Reason == UnhealthyReason.CrashLoop, "CrashLoop");
        Assert.Equal(ServicePhase.Failed, status.Phase);
        Assert.Contains("absent.gguf", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_RuntimeOverItsMemoryLimit_IsFailedWithOomKilled()
    {
        // The .NET runtime adapts its heap to a tiny limit (it thrashes rather than dies), so the process that
        // outgrows its limit is bash on the runtime image's Debian base, holding 64 MB in a variable.
        var id = docker.NewServiceId("oom");
        var spec = Spec(id, DockerHarness.FreePorts(), memory: "6Mi") with
        {
            Image = "modelserveshim/debian-minbase:bookworm",
            Command = ["bash", "-c", "echo allocating; a=$(head -c 64000000 /dev/zero | tr '\\0' a); sleep 60"],
            Args = [],
        };

        await Shimlet.ApplyAsync(spec, CancellationToken.None);

        var status = await docker.WaitForStatusAsync(id, s => s.Message?.Contains("OOMKilled", StringComparison.Ordinal) == true, "OOMKilled");
        Assert.Equal((ServicePhase.Failed, UnhealthyReason.Failed), (status.Phase, status.Reason));
        Assert.True(status.IsTerminalFailure); // the health check fails at once instead of waiting out the startup timeout
        Assert.Contains("6Mi", status.Message, StringComparison.Ordinal);
        Assert.Contains("raise resources.memory", status.Message, StringComparison.Ordinal);
        Assert.Contains("allocating", status.Message, StringComparison.Ordinal);
        var inspect = await docker.Client.Containers.InspectContainerAsync(Assert.Single(await docker.ContainersAsync(id)).ID);
        Assert.Equal((6L * 1024 * 1024, 6L * 1024 * 1024), (inspect.HostConfig.Memory, inspect.HostConfig.MemorySwap));
    }

    [Fact]
    public async Task Apply_OnAPortAnotherProcessHolds_IsPortInUse_AndCreatesNothing()
    {
        var id = docker.NewServiceId("port");
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<StepException>(() => Shimlet.ApplyAsync(Spec(id, port), CancellationToken.None));

        Assert.Equal(DockerErrorTypes.PortInUse, error.ErrorType);
        Assert.False(error.Retryable);
        Assert.Contains($"Port {port}", error.Message, StringComparison.Ordinal);
        Assert.Empty(await docker.ContainersAsync(id));
    }

    private static async Task AssertCompletesAsync(Uri endpoint)
    {
        using var response = await Http.PostAsJsonAsync(new Uri(endpoint, "/v1/completions"),
            new JsonObject { ["model"] = "sample", ["prompt"] = "Once upon a time", ["max_tokens"] = 4 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("text_completion", (string?)body["object"]);
        Assert.Equal(4, (int)body["usage"]!["completion_tokens"]!);
    }
}
