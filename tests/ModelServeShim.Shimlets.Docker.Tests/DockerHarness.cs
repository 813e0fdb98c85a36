using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker.Tests;

/// <summary>
/// The real dockerd and the test image. Its constructor fails (every test of the class fails, none is
/// skipped) when either is missing, with the command that sets them up.
/// </summary>
public sealed class DockerHarness : IAsyncLifetime
{
    public const string Endpoint = "unix:///var/run/docker.sock";
    public const string TestImage = "modelserveshim/busybox:test";
    private const string Setup = "run `bash scripts/install-test-deps.sh` (installs docker.io and busybox-static, starts dockerd, builds the image)";

    private readonly List<string> _services = [];
    private readonly string _modelDir = Directory.CreateTempSubdirectory("mss-docker-model").FullName;

    public DockerClient Client { get; } = new DockerClientConfiguration(new Uri(Endpoint)).CreateClient();

    public DockerShimlet Shimlet { get; } = new(
        new DockerShimletOptions { StopGracePeriod = TimeSpan.FromSeconds(1) }, NullLogger.Instance);

    public async Task InitializeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Client.System.PingAsync(timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException or DockerApiException or IOException)
        {
            throw new InvalidOperationException($"dockerd does not answer at {Endpoint} ({e.Message}): {Setup}.", e);
        }

        try
        {
            await Client.Images.InspectImageAsync(TestImage);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"The test image {TestImage} is missing: {Setup}.", e);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var serviceId in _services)
        {
            await Shimlet.DeleteAsync(new ServiceTarget(serviceId), CancellationToken.None);
        }

        Directory.Delete(_modelDir, recursive: true);
        Client.Dispose();
    }

    /// <summary>A new service id, deleted when the class's tests are done.</summary>
    public string NewServiceId(string prefix)
    {
        var id = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        _services.Add(id);
        return id;
    }

    /// <summary>A spec for the test image on <paramref name="port"/>.</summary>
    public DeploymentSpec Spec(string serviceId, int port, IReadOnlyList<string> command, string image = TestImage, int replicas = 1) => new()
    {
        ServiceId = serviceId,
        ModelName = "busybox",
        Runtime = "busybox-httpd",
        Image = image,
        Command = command,
        Port = port,
        HealthPath = "/health",
        Resources = new ResourceSpec("500m", "64Mi", null, 0),
        Replicas = replicas,
        ModelPath = _modelDir,
        Labels = new Dictionary<string, string> { ["team"] = "tests" },
    };

    /// <summary>busybox httpd in the foreground on 127.0.0.1 and the replica's port, serving /www (with /www/health).</summary>
    public static IReadOnlyList<string> Httpd => ["busybox", "httpd", "-f", "-p", "{{ host }}:{{ port }}", "-h", "/www"];

    /// <summary>A loopback port that is free, with <paramref name="count"/> - 1 free ports after it.</summary>
    public static int FreePorts(int count = 1)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port + count <= 65535 && Enumerable.Range(port + 1, count - 1).All(IsFree))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no free loopback ports");
    }

    /// <summary>Polls the shimlet's status until <paramref name="done"/> holds (30 s at most).</summary>
    public async Task<ShimletStatus> WaitForStatusAsync(string serviceId, Func<ShimletStatus, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        ShimletStatus status;
        do
        {
            status = await Shimlet.GetStatusAsync(new ServiceTarget(serviceId), CancellationToken.None);
            if (done(status))
            {
                return status;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"{serviceId} did not reach {what} in 30 s; last status: {status}");
    }

    /// <summary>The containers of a service, by the shimlet's labels.</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync(string serviceId) =>
        await Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{DockerLabels.ServiceId}={serviceId}"] = true },
            },
        });

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
