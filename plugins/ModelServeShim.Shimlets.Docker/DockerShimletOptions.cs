using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>Settings of the Docker shimlet, bound from the configuration section <c>Shimlets:Docker</c>.</summary>
public sealed class DockerShimletOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shimlets:Docker";

    /// <summary>The Docker Engine API endpoint. Default <c>unix:///var/run/docker.sock</c> (a local socket only: see docs/shimlets/docker.md).</summary>
    [Required]
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>
    /// Run containers with <c>NetworkMode: host</c> (default true): the runtime binds 127.0.0.1 and the spec's port
    /// (replica <c>i</c> gets port + i), and the endpoint is <c>http://127.0.0.1:&lt;port&gt;</c>.
    /// False is refused today: without the host network the shimlet has no loopback endpoint to report.
    /// </summary>
    public bool HostNetwork { get; set; } = true;

    /// <summary>
    /// The device-request driver for accelerators (default <c>nvidia</c>); it needs the NVIDIA container runtime
    /// (nvidia-container-toolkit) on the Docker host.
    /// </summary>
    [Required]
    public string GpuDriver { get; set; } = "nvidia";

    /// <summary>
    /// GPU selection per accelerator type (the request's <c>acceleratorType</c>, e.g. <c>nvidia-l4</c>): the device ids
    /// or UUIDs (as <c>nvidia-smi -L</c> lists them) that a service of that type may use. A type listed here gets
    /// <c>DeviceIDs</c> (the first <c>acceleratorCount</c> of the list) instead of a <c>Count</c>; a type not listed
    /// lets Docker choose any <c>acceleratorCount</c> GPUs. Default empty.
    /// </summary>
    public Dictionary<string, List<string>> AcceleratorDevices { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a stopped container may take to exit before it is killed. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Restarts after which a replica that is not running counts as crash-looping. Default 3.</summary>
    [Range(1, 1000)]
    public int CrashLoopRestarts { get; set; } = 3;

    /// <summary>Timeout of one health probe. Default 2 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// First wait of a status watch after a read that changed the status (a deploy, a container becoming healthy). Each
    /// read inspects the containers and probes the health path. Default 50 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan StatusReadInitialInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Longest wait between a status watch's reads while nothing changes (the waits double from
    /// <see cref="StatusReadInitialInterval"/>). A runtime that loads longer is noticed about half this late on
    /// average. Default 200 ms; not shorter than the initial interval.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan StatusReadMaxInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Log lines attached to a crash-loop status message. Default 20.</summary>
    [Range(0, 1000)]
    public int CrashLogLines { get; set; } = 20;
}
