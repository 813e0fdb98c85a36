using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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
    private readonly HttpClient _probe;
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
        _probe = new HttpClient { Timeout = options.ProbeTimeout };
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

    private async Task<ApplyResult> ReconcileAsync(DeploymentSpec spec, CancellationToken ct)
    {
        var hash = SpecHash(spec);
        var keep = Math.Max(spec.Replicas, 1);
        var running = spec.Replicas > 0;
        var changed = false;
        var existing = new Dictionary<int, string>();
        foreach (var container in await ListAsync(spec.ServiceId, ct).ConfigureAwait(false))
        {
            var index = ReplicaIndex(container);
            var current = container.Labels.TryGetValue(DockerLabels.SpecHash, out var h) && h == hash;
            if (!current || index >= keep || index < 0 || existing.ContainsKey(index))
            {
                await RemoveAsync(container.ID, ct).ConfigureAwait(false);
                changed = true;
                continue;
            }

            existing[index] = container.ID;
        }

        var ids = new List<string>();
        for (var index = 0; index < keep; index++)
        {
            if (!existing.TryGetValue(index, out var id))
            {
                id = await CreateAsync(spec, hash, index, ct).ConfigureAwait(false);
                changed = true;
            }

            var inspect = await _docker.Containers.InspectContainerAsync(id, ct).ConfigureAwait(false);
            var stoppedOnPurpose = inspect.HostConfig?.RestartPolicy?.Name == RestartPolicyKind.No;
            if (running && (stoppedOnPurpose || inspect.State.Status == "created"))
            {
                if (stoppedOnPurpose)
                {
                    await SetRestartPolicyAsync(id, RestartPolicyKind.OnFailure, ct).ConfigureAwait(false);
                }

                await StartAsync(spec, id, index, ct).ConfigureAwait(false);
                changed = true;
            }
            else if (!running && !stoppedOnPurpose)
            {
                // Scaled to zero: replica 0 stays as a stopped container (its restart policy "no" marks it as
                // stopped on purpose) so that status says Stopped and a later scale-up has the spec.
                await SetRestartPolicyAsync(id, RestartPolicyKind.No, ct).ConfigureAwait(false);
                await StopAsync(id, ct).ConfigureAwait(false);
                changed = true;
            }

            ids.Add(id);
        }

        if (changed)
        {
            LogApplied(spec.ServiceId, spec.Image!, spec.Replicas, hash);
        }

        return new ApplyResult([.. ids.Select(i => $"docker/container/{i}")], changed);
    }

    private async Task<string> CreateAsync(DeploymentSpec spec, string hash, int index, CancellationToken ct)
    {
        var port = spec.Port + index;
        if (spec.Replicas > 0 && !PortIsFree(port))
        {
            // On the host network the runtime would fail to bind and crash-loop; say so before creating anything.
            throw StepException.NonRetryable(DockerErrorTypes.PortInUse,
                $"Port {port} on {Loopback} (replica {index} of {spec.ServiceId}) is already in use by another process: free it, or choose another port in the runtime profile (Runtimes:Profiles:{spec.Runtime}:Port).");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in spec.Labels)
        {
            labels[key] = value;
        }

        labels[DockerLabels.ServiceId] = spec.ServiceId;
        labels[DockerLabels.ManagedBy] = DockerLabels.ManagedByValue;
        labels[DockerLabels.SpecHash] = hash;
        labels[DockerLabels.Replica] = index.ToString(CultureInfo.InvariantCulture);
        labels[DockerLabels.Port] = port.ToString(CultureInfo.InvariantCulture);
        labels[DockerLabels.HealthPath] = spec.HealthPath;
        labels[SpecLabel] = JsonSerializer.Serialize(spec with { Replicas = 1 }, SpecJson);

        var environment = spec.Environment
            .Where(e => e.Key is not ("PORT" or "HOST"))
            .Select(e => $"{e.Key}={e.Value}")
            .Append($"PORT={port.ToString(CultureInfo.InvariantCulture)}")
            .Append($"HOST={Loopback}")
            .ToList();

        var host = new HostConfig
        {
            NetworkMode = "host",
            NanoCPUs = ResourceQuantities.NanoCpus(spec.Resources.Cpu),
            Memory = ResourceQuantities.Bytes(spec.Resources.Memory),
            // The limit is the memory, swap included (Docker's default lets a container swap as much again, where it
            // slows down instead of being OOM-killed at its limit, as on Kubernetes).
            MemorySwap = ResourceQuantities.Bytes(spec.Resources.Memory) is > 0 and var limit ? limit : 0,
            RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.OnFailure },
            Mounts = string.IsNullOrEmpty(spec.ModelPath)
                ? []
                : [new Mount { Type = "bind", Source = spec.ModelPath, Target = spec.ModelMountPath, ReadOnly = true }],
        };
        if (spec.Resources.AcceleratorCount > 0)
        {
            // Needs the NVIDIA container runtime (nvidia-container-toolkit) on the Docker host.
            // A type listed in AcceleratorDevices selects those GPUs by id (Docker takes DeviceIDs or Count, not both).
            var request = new DeviceRequest { Driver = _options.GpuDriver, Capabilities = [["gpu"]] };
            if (spec.Resources.AcceleratorType is { } type && _options.AcceleratorDevices.TryGetValue(type, out var devices))
            {
                request.DeviceIDs = [.. devices.Take(spec.Resources.AcceleratorCount)];
            }
            else
            {
                request.Count = spec.Resources.AcceleratorCount;
            }

            host.DeviceRequests = [request];
        }

        var parameters = new CreateContainerParameters
        {
            Name = DockerLabels.ContainerName(spec.ServiceId, index),
            Image = spec.Image,
            Entrypoint = spec.Command.Count > 0 ? [.. spec.Command.Select(a => Substitute(a, port))] : null,
            Cmd = spec.Args.Count > 0 ? [.. spec.Args.Select(a => Substitute(a, port))] : null,
            Env = environment,
            Labels = labels,
            HostConfig = host,
        };

        try
        {
            var created = await _docker.Containers.CreateContainerAsync(parameters, ct).ConfigureAwait(false);
            return created.ID;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // POST /containers/create answers 404 for one thing only: the image is not on the host.
            throw new ImageMissingException(e.ResponseBody?.Trim() ?? "No such image", e);
        }
    }

    private async Task StartAsync(DeploymentSpec spec, string id, int index, CancellationToken ct)
    {
        try
        {
            await _docker.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (spec.Resources.AcceleratorCount > 0 && (int)e.StatusCode >= 500)
        {
            // Docker answers a device request it has no driver for with a 500 and no error code ("could not select
            // device driver "nvidia" with capabilities: [[gpu]]"). The list, create and inspect calls before this one
            // succeeded, so the daemon is up: starting the container again would fail the same way until the host
            // changes. The container stays (created, with Docker's error in its state) for inspection.
            throw StepException.NonRetryable(DockerErrorTypes.GpuUnavailable,
                $"Docker could not start {DockerLabels.ContainerName(spec.ServiceId, index)} with {spec.Resources.AcceleratorCount} GPU(s) "
                + $"(driver '{_options.GpuDriver}'): {e.ResponseBody?.Trim()} Install the NVIDIA Container Toolkit (nvidia-container-toolkit) "
                + "and the NVIDIA driver on the Docker host, run `nvidia-ctk runtime configure --runtime=docker` and restart dockerd; "
                + "or deploy without accelerators.", e);
        }
    }

    private async Task<ShimletStatus> StatusOfAsync(IList<ContainerListResponse> containers, CancellationToken ct)
    {
        var ordered = containers.OrderBy(ReplicaIndex).ToList();
        var first = ordered[0];
        var endpoint = first.Labels.TryGetValue(DockerLabels.Port, out var p)
            ? new Uri($"http://{Loopback}:{p}")
            : null;
        var ready = 0;
        var readyEndpoints = new List<Uri>();
        var stopped = 0;
        string? problem = null;
        var reason = UnhealthyReason.None;
        foreach (var container in ordered)
        {
            var inspect = await _docker.Containers.InspectContainerAsync(container.ID, ct).ConfigureAwait(false);
            var state = inspect.State;
            var up = state.Running && !state.Restarting;
            if (inspect.HostConfig?.RestartPolicy?.Name == RestartPolicyKind.No && !up)
            {
                stopped++;
                continue;
            }

            if (up && await ProbeAsync(container, ct).ConfigureAwait(false))
            {
                ready++;
                readyEndpoints.Add(new Uri($"http://{Loopback}:{container.Labels[DockerLabels.Port]}"));
                continue;
            }

            if (reason is UnhealthyReason.CrashLoop or UnhealthyReason.Failed)
            {
                continue;
            }

            if (!up && state.OOMKilled)
            {
                reason = UnhealthyReason.Failed;
                problem = $"{Trim(inspect.Name)} was killed for running out of memory (OOMKilled) at its limit of {Describe(inspect.HostConfig?.Memory ?? 0)}: "
                    + "raise resources.memory (the model's weights, its context's KV cache and the runtime must fit). Last log lines:\n"
                    + string.Join('\n', await LastLinesAsync(container.ID, ct).ConfigureAwait(false));
            }
            else if (!up && inspect.RestartCount >= _options.CrashLoopRestarts)
            {
                reason = UnhealthyReason.CrashLoop;
                problem = $"{Trim(inspect.Name)} restarted {inspect.RestartCount} times (last exit code {state.ExitCode}). Last log lines:\n"
                    + string.Join('\n', await LastLinesAsync(container.ID, ct).ConfigureAwait(false));
            }
            else if (!up && state.Status == "exited" && state.ExitCode == 0)
            {
                reason = UnhealthyReason.Failed;
                problem = $"{Trim(inspect.Name)} exited with code 0: the runtime stopped on its own and is not restarted.";
            }
            else if (!string.IsNullOrEmpty(state.Error))
            {
                reason = UnhealthyReason.Failed;
                problem = $"{Trim(inspect.Name)}: {state.Error}";
            }
            else
            {
                reason = UnhealthyReason.Pending;
                problem ??= $"{Trim(inspect.Name)} is {state.Status}{(up ? ", its health probe does not answer 200 yet" : string.Empty)}.";
            }
        }

        if (stopped == ordered.Count)
        {
            return new ShimletStatus { Phase = ServicePhase.Stopped, Endpoint = endpoint, Message = "Scaled to zero: the containers are stopped." };
        }

        var desired = ordered.Count - stopped;
        var phase = reason is UnhealthyReason.CrashLoop or UnhealthyReason.Failed
            ? (ready > 0 ? ServicePhase.Degraded : ServicePhase.Failed)
            : ready == desired ? ServicePhase.Running : ready > 0 ? ServicePhase.Degraded : ServicePhase.Pending;
        return new ShimletStatus
        {
            Phase = phase,
            ReadyReplicas = ready,
            DesiredReplicas = desired,
            Endpoint = endpoint,
            ReplicaEndpoints = readyEndpoints,
            Reason = phase == ServicePhase.Running ? UnhealthyReason.None : reason,
            Message = phase == ServicePhase.Running ? null : problem,
        };
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }

    private async Task<bool> ProbeAsync(ContainerListResponse container, CancellationToken ct)
    {
        if (!container.Labels.TryGetValue(DockerLabels.Port, out var port))
        {
            return false;
        }

        var path = container.Labels.TryGetValue(DockerLabels.HealthPath, out var h) && h.StartsWith('/') ? h : "/" + h;
        try
        {
            using var response = await _probe.GetAsync(new Uri($"http://{Loopback}:{port}{path}"), ct).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return false; // the probe's own timeout
        }
    }

    private async Task<IList<ContainerListResponse>> ListAsync(string serviceId, CancellationToken ct)
    {
        var filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = new Dictionary<string, bool>
            {
                [$"{DockerLabels.ServiceId}={serviceId}"] = true,
                [$"{DockerLabels.ManagedBy}={DockerLabels.ManagedByValue}"] = true,
            },
        };
        return await _docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filters }, ct).ConfigureAwait(false);
    }

    private async Task RemoveAsync(string id, CancellationToken ct)
    {
        try
        {
            await StopAsync(id, ct).ConfigureAwait(false);
            await _docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, ct).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already gone: deleting what is gone is not an error.
        }
    }

    private Task StopAsync(string id, CancellationToken ct) =>
        _docker.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)_options.StopGracePeriod.TotalSeconds }, ct);

    private Task SetRestartPolicyAsync(string id, RestartPolicyKind kind, CancellationToken ct) =>
        _docker.Containers.UpdateContainerAsync(id, new ContainerUpdateParameters { RestartPolicy = new RestartPolicy { Name = kind } }, ct);

    private async Task<List<(string Time, string Text)>> ReadLogAsync(string id, int tailLines, CancellationToken ct)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = true,
            Tail = tailLines.ToString(CultureInfo.InvariantCulture),
        };
        using var stream = await _docker.Containers.GetContainerLogsAsync(id, tty: false, parameters, ct).ConfigureAwait(false);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
        return [.. SplitTimestamped(stdout), .. SplitTimestamped(stderr)];
    }

    private async Task<IReadOnlyList<string>> LastLinesAsync(string id, CancellationToken ct)
    {
        if (_options.CrashLogLines == 0)
        {
            return [];
        }

        var lines = await ReadLogAsync(id, _options.CrashLogLines, ct).ConfigureAwait(false);
        return [.. lines.OrderBy(l => l.Time, StringComparer.Ordinal).TakeLast(_options.CrashLogLines).Select(l => l.Text)];
    }

    private static IEnumerable<(string Time, string Text)> SplitTimestamped(string output)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var text = line.TrimEnd('\r');
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            yield return space > 0 ? (text[..space], text[(space + 1)..]) : (string.Empty, text);
        }
    }

    /// <summary>The hash of everything a container's configuration derives from (everything but the replica count).</summary>
    internal static string SpecHash(DeploymentSpec spec)
    {
        var json = JsonSerializer.Serialize(
            new
            {
                spec.Image,
                spec.Command,
                spec.Args,
                Environment = spec.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
                Labels = spec.Labels.OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
                spec.Port,
                spec.HealthPath,
                spec.Resources,
                spec.ModelPath,
                spec.ModelMountPath,
            },
            SpecJson);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..16];
    }

    /// <summary>Replaces <c>{{ port }}</c> and <c>{{ host }}</c> (spaces optional) inside an argument with the replica's port and 127.0.0.1.</summary>
    internal static string Substitute(string argument, int port) =>
        Placeholder().Replace(argument, m => m.Groups[1].Value == "port" ? port.ToString(CultureInfo.InvariantCulture) : Loopback);

    private static int ReplicaIndex(ContainerListResponse container) =>
        container.Labels.TryGetValue(DockerLabels.Replica, out var r) && int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1;

    private static string Trim(string name) => name.TrimStart('/');

    private static string Describe(long bytes) =>
        bytes <= 0 ? "no limit"
        : bytes % (1024 * 1024) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024)}Mi")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");


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

    [GeneratedRegex(@"\{\{\s*(port|host)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {ServiceId} ({Image}, {Replicas} replicas, spec {SpecHash})")]
    private partial void LogApplied(string serviceId, string image, int replicas, string specHash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Image {Image} of {ServiceId} is not on the Docker host")]
    private partial void LogImageUnavailable(string serviceId, string image);
}

/// <summary>Container creation answered 404: the image is not on the Docker host.</summary>
internal sealed class ImageMissingException(string message, Exception inner) : Exception(message, inner);
