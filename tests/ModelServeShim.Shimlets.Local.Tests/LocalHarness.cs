using System.Diagnostics;
using System.Net.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;

// Real processes and ports: one test at a time keeps the 2-core machine and the timings sane.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ModelServeShim.Shimlets.Local.Tests;

/// <summary>A state directory, shimlets over it, and the test server as the runtime; removes every process it started.</summary>
internal sealed class LocalHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly string TestServerDll = Path.Combine(AppContext.BaseDirectory, "ModelServeShim.Shimlets.Local.TestServer.dll");

    private readonly List<LocalShimlet> _shimlets = [];
    private readonly HashSet<string> _serviceIds = [];

    public LocalHarness(Action<LocalShimletOptions>? configure = null)
    {
        StateDirectory = Path.Combine(Path.GetTempPath(), "local-shimlet-tests", Guid.NewGuid().ToString("N"));
        Options = new LocalShimletOptions
        {
            StateDirectory = StateDirectory,
            PollInterval = TimeSpan.FromMilliseconds(100),
            RestartInitialDelay = TimeSpan.FromMilliseconds(300),
            RestartMaxDelay = TimeSpan.FromSeconds(5),
            MaxRestarts = 3,
            RestartWindow = TimeSpan.FromMinutes(5),
            StopGracePeriod = TimeSpan.FromSeconds(10),
            HealthProbeTimeout = TimeSpan.FromSeconds(2),
            CrashLogTailLines = 10,
        };
        configure?.Invoke(Options);
        Shimlet = NewShimlet();
    }

    public string StateDirectory { get; }

    public LocalShimletOptions Options { get; }

    public LocalShimlet Shimlet { get; private set; }

    public static HttpClient Http { get; } = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>A second orchestrator on the same state directory (the first one is left as it is).</summary>
    public LocalShimlet NewShimlet()
    {
        var shimlet = new LocalShimlet(Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<LocalShimlet>.Instance);
        _shimlets.Add(shimlet);
        Shimlet = shimlet;
        return shimlet;
    }

    public string ServiceDirectory(string serviceId) => Path.Combine(StateDirectory, "services", serviceId);

    public DeploymentSpec Spec(string serviceId, IReadOnlyDictionary<string, string>? environment = null, int replicas = 1, IReadOnlyList<string>? args = null)
    {
        _serviceIds.Add(serviceId);
        return new DeploymentSpec
        {
            ServiceId = serviceId,
            ModelName = "tiny",
            Runtime = "test-server",
            Command = ["dotnet", TestServerDll],
            Args = args ?? [],
            Environment = environment ?? new Dictionary<string, string>(),
            Port = 0,
            HealthPath = "/health",
            Resources = new ResourceSpec("1", "1Gi", null, 0),
            Replicas = replicas,
            ModelPath = "/models/tiny.gguf",
            StartupTimeout = TimeSpan.FromSeconds(60),
        };
    }

    public async Task<ShimletStatus> WaitForStatusAsync(string serviceId, Func<ShimletStatus, bool> until, LocalShimlet? shimlet = null)
    {
        shimlet ??= Shimlet;
        var clock = Stopwatch.StartNew();
        ShimletStatus status;
        do
        {
            status = await shimlet.GetStatusAsync(new ServiceTarget(serviceId), CancellationToken.None);
            if (until(status))
            {
                return status;
            }

            await Task.Delay(100);
        }
        while (clock.Elapsed < Timeout);

        throw new TimeoutException($"Service {serviceId} did not reach the expected status in {Timeout}; last: {status}");
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    public static bool IsAlive(int pid) =>
        File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z');

    public static void KillHard(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var serviceId in _serviceIds)
        {
            await Shimlet.DeleteAsync(new ServiceTarget(serviceId), CancellationToken.None);
        }

        foreach (var shimlet in _shimlets)
        {
            await shimlet.DisposeAsync();
        }

        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A process may still be writing its last line.
        }
    }
}
