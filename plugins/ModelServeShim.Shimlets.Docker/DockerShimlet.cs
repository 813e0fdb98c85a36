using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>
/// The Docker shimlet (<c>"shimlet": "docker"</c>), loaded as a plugin: one container per replica, named
/// <c>mss-&lt;serviceId&gt;-&lt;replica&gt;</c> and labelled with the service id, on the host network, serving
/// on 127.0.0.1. Containers carry everything needed to manage them (the spec, its hash, port and health path)
/// in labels, so the shimlet keeps no state of its own besides the last image failure per service.
/// </summary>
public sealed partial class DockerShimlet : IShimlet
{
    private const string Loopback = "127.0.0.1";
    private const string SpecLabel = "modelserveshim.io/spec";

    private static readonly JsonSerializerOptions SpecJson = new(JsonSerializerDefaults.Web);

    private readonly IDockerClient _docker;
    private readonly DockerShimletOptions _options;
    private readonly ILogger _logger;
    private readonly HealthProbe _probe;
    private readonly ConcurrentDictionary<string, ShimletStatus> _imageFailures = new(StringComparer.Ordinal);

    /// <summary>The constructor the plugin loader uses: settings from <c>Shimlets:Docker</c>, validated now.</summary>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="logger">The host's logger.</param>
    public DockerShimlet(IConfiguration configuration, ILogger<DockerShimlet> logger)
        : this(Bind(configuration), logger)
    {
    }

    /// <summary>Creates the shimlet with explicit options (tests).</summary>
    internal DockerShimlet(DockerShimletOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint))
        {
            throw new ValidationException($"Shimlets:Docker:Endpoint '{options.Endpoint}' is not an absolute URI (e.g. unix:///var/run/docker.sock).");
        }

        if (options.StatusReadMaxInterval < options.StatusReadInitialInterval)
        {
            throw new ValidationException("Shimlets:Docker:StatusReadMaxInterval must not be shorter than :StatusReadInitialInterval.");
        }

        foreach (var (type, devices) in options.AcceleratorDevices)
        {
            if (devices.Count == 0 || devices.Any(string.IsNullOrWhiteSpace))
            {
                throw new ValidationException($"Shimlets:Docker:AcceleratorDevices:{type} must list one or more GPU ids or UUIDs (as nvidia-smi -L prints them).");
            }
        }

        _options = options;
        _logger = logger;
        _docker = new DockerClientConfiguration(endpoint).CreateClient();
        _probe = new HealthProbe(options.ProbeTimeout);
    }

    /// <inheritdoc />
    public string Name => "docker";

    /// <summary>
    /// Yields the status now and after each read on a backoff: <see cref="DockerShimletOptions.StatusReadInitialInterval"/>
    /// after a change, doubling up to <see cref="DockerShimletOptions.StatusReadMaxInterval"/> (Docker has no readiness
    /// events for a health path it does not know, so reads stay the way to notice it).
    /// </summary>
    public IAsyncEnumerable<ShimletStatus> WatchStatusAsync(ServiceTarget target, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        ShimletWatch.ReadOnBackoffAsync(this, target, timeProvider,
            new ProbeBackoff(_options.StatusReadInitialInterval, _options.StatusReadMaxInterval), cancellationToken);

    /// <inheritdoc />
    public async Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Check(spec);
        try
        {
            var result = await ReconcileAsync(spec, cancellationToken).ConfigureAwait(false);
            _imageFailures.TryRemove(spec.ServiceId, out _);
            return result;
        }
        catch (ImageMissingException e)
        {
            // The image is not on the Docker host: no pull is attempted (see docs/shimlets/docker.md). The health
            // check sees this as a terminal ImageUnavailable status, as with an image Kubernetes cannot pull.
            var status = new ShimletStatus
            {
                Phase = ServicePhase.Failed,
                DesiredReplicas = spec.Replicas,
                Reason = UnhealthyReason.ImageUnavailable,
                Message = $"Image '{spec.Image}' is not present on the Docker host (load or pull it there first): {e.Message}",
            };
            _imageFailures[spec.ServiceId] = status;
            LogImageUnavailable(spec.ServiceId, spec.Image!);
            return new ApplyResult([], Changed: true);
        }
        catch (DockerApiException e)
        {
            throw Translate(e, $"apply {spec.ServiceId}");
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(e);
        }
    }

    /// <inheritdoc />
    public async Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            var containers = await ListAsync(target.ServiceId, cancellationToken).ConfigureAwait(false);
            if (containers.Count == 0)
            {
                return _imageFailures.TryGetValue(target.ServiceId, out var failure) ? failure : new ShimletStatus { Phase = ServicePhase.NotFound };
            }

            return await StatusOfAsync(containers, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw Translate(e, $"status of {target.ServiceId}");
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(e);
        }
    }

    /// <inheritdoc />
    public async Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        try
        {
            var containers = await ListAsync(target.ServiceId, cancellationToken).ConfigureAwait(false);
            var template = containers.OrderBy(ReplicaIndex).FirstOrDefault(c => c.Labels.ContainsKey(SpecLabel))
                ?? throw StepException.NonRetryable(DockerErrorTypes.ServiceNotFound,
                    $"Service '{target.ServiceId}' has no container on this Docker host: deploy it before scaling.");
            var spec = JsonSerializer.Deserialize<DeploymentSpec>(template.Labels[SpecLabel], SpecJson)!;
            await ReconcileAsync(spec with { Replicas = replicas }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw Translate(e, $"scale {target.ServiceId}");
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(e);
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        _imageFailures.TryRemove(target.ServiceId, out _);
        try
        {
            foreach (var container in await ListAsync(target.ServiceId, cancellationToken).ConfigureAwait(false))
            {
                await RemoveAsync(container.ID, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (DockerApiException e)
        {
            throw Translate(e, $"delete {target.ServiceId}");
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Each running container's CPU time and memory in use (Docker's one-shot stats: <c>cpu_stats.cpu_usage.total_usage</c>,
    /// and <c>memory_stats.usage</c> less the reclaimable <c>inactive_file</c> cache, as <c>docker stats</c> shows it).
    /// A container whose stats cannot be read is left out.
    /// </summary>
    public async Task<IReadOnlyList<ReplicaResourceUsage>> GetResourceUsageAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var usage = new List<ReplicaResourceUsage>();
        var containers = await ListAsync(target.ServiceId, cancellationToken).ConfigureAwait(false);
        foreach (var container in containers.Where(c => c.State == "running").OrderBy(ReplicaIndex))
        {
            ContainerStatsResponse? stats = null;
            try
            {
                await _docker.Containers.GetContainerStatsAsync(container.ID, new ContainerStatsParameters { Stream = false, OneShot = true },
                    new LatestStats(s => stats = s), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                _logger.LogDebug(e, "Stats of container {Container} could not be read", container.ID);
                continue;
            }

            if (stats is null)
            {
                continue;
            }

            double? cpu = stats.CPUStats?.CPUUsage is { TotalUsage: > 0 } cpuUsage ? cpuUsage.TotalUsage / 1e9 : null;
            long? memory = null;
            if (stats.MemoryStats is { Usage: > 0 } memoryStats)
            {
                ulong inactive = memoryStats.Stats is { } detail && detail.TryGetValue("inactive_file", out var cache) ? cache : 0;
                memory = (long)(memoryStats.Usage > inactive ? memoryStats.Usage - inactive : memoryStats.Usage);
            }

            usage.Add(new ReplicaResourceUsage(ReplicaIndex(container).ToString(CultureInfo.InvariantCulture), cpu, memory));
        }

        return usage;
    }

    /// <summary>Keeps the stats report synchronously (<see cref="Progress{T}"/> would post it to the thread pool, after the call returns).</summary>
    private sealed class LatestStats(Action<ContainerStatsResponse> keep) : IProgress<ContainerStatsResponse>
    {
        public void Report(ContainerStatsResponse value) => keep(value);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (tailLines <= 0)
        {
            return [];
        }

        try
        {
            var containers = (await ListAsync(target.ServiceId, cancellationToken).ConfigureAwait(false)).OrderBy(ReplicaIndex).ToList();
            var prefix = containers.Count > 1;
            var lines = new List<(string Time, int Replica, string Text)>();
            foreach (var container in containers)
            {
                var replica = ReplicaIndex(container);
                foreach (var (time, text) in await ReadLogAsync(container.ID, tailLines, cancellationToken).ConfigureAwait(false))
                {
                    lines.Add((time, replica, prefix ? $"[replica-{replica}] {text}" : text));
                }
            }

            // RFC 3339 timestamps with nanoseconds sort as text; OrderBy is stable for equal times.
            return [.. lines.OrderBy(l => l.Time, StringComparer.Ordinal).Skip(Math.Max(0, lines.Count - tailLines)).Select(l => l.Text)];
        }
        catch (DockerApiException e)
        {
            throw Translate(e, $"logs of {target.ServiceId}");
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(e);
        }
    }

    private static DockerShimletOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new DockerShimletOptions();
        configuration.GetSection(DockerShimletOptions.SectionName).Bind(options);
        return options;
    }

    private void Check(DeploymentSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.Image))
        {
            throw Invalid("The Docker shimlet needs an image: the runtime profile or the request must name one.");
        }

        if (spec.Replicas < 0)
        {
            throw Invalid($"Replicas must be 0 or more, not {spec.Replicas}.");
        }

        if (spec.Port is < 1 or > 65535 || spec.Port + Math.Max(spec.Replicas, 1) - 1 > 65535)
        {
            throw Invalid($"The Docker shimlet needs a fixed port (replica i listens on port + i); {spec.Port} with {spec.Replicas} replicas does not fit in 1-65535.");
        }

        if (!_options.HostNetwork)
        {
            throw Invalid("Shimlets:Docker:HostNetwork=false is not supported yet: the shimlet reports loopback endpoints on the host network only.");
        }

        if (!spec.ModelMountPath.StartsWith('/'))
        {
            throw Invalid($"The model mount path '{spec.ModelMountPath}' must be absolute.");
        }

        if (!ResourceQuantities.TryParse(spec.Resources.Cpu, out _) || !ResourceQuantities.TryParse(spec.Resources.Memory, out _))
        {
            throw Invalid($"Resources cpu '{spec.Resources.Cpu}' and memory '{spec.Resources.Memory}' must be Kubernetes quantities (e.g. \"4\", \"500m\", \"16Gi\").");
        }

        if (spec.Resources.AcceleratorCount < 0)
        {
            throw Invalid($"The accelerator count must be 0 or more, not {spec.Resources.AcceleratorCount}.");
        }

        if (spec.Resources.AcceleratorCount > 0 && spec.Resources.AcceleratorType is { } type
            && _options.AcceleratorDevices.TryGetValue(type, out var devices) && devices.Count < spec.Resources.AcceleratorCount)
        {
            throw Invalid($"{spec.Resources.AcceleratorCount} accelerators of type '{type}' requested, but Shimlets:Docker:AcceleratorDevices:{type} lists {devices.Count} device(s).");
        }
    }

    private static StepException Invalid(string message) => StepException.NonRetryable(DockerErrorTypes.InvalidSpec, message);

    private static StepException Unavailable(HttpRequestException e) =>
        new(DockerErrorTypes.DockerUnavailable, $"The Docker Engine does not answer: {e.Message}", retryable: true, e);

    private static StepException Translate(DockerApiException e, string operation) =>
        (int)e.StatusCode >= 500
            ? new StepException(DockerErrorTypes.DockerUnavailable, $"Docker failed to {operation} ({(int)e.StatusCode}): {e.ResponseBody?.Trim()}", retryable: true, e)
            : e.StatusCode == HttpStatusCode.Conflict
                ? StepException.NonRetryable(DockerErrorTypes.DockerRequestRefused,
                    $"Docker refused to {operation} (409): {e.ResponseBody?.Trim()} A container with a mss- name that ModelServeShim does not manage must be renamed or removed by hand.", e)
                : StepException.NonRetryable(DockerErrorTypes.DockerRequestRefused, $"Docker refused to {operation} ({(int)e.StatusCode}): {e.ResponseBody?.Trim()}", e);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {ServiceId} ({Image}, {Replicas} replicas, spec {SpecHash})")]
    private partial void LogApplied(string serviceId, string image, int replicas, string specHash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Image {Image} of {ServiceId} is not on the Docker host")]
    private partial void LogImageUnavailable(string serviceId, string image);
}
