using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>The calls into the Docker Engine: reconcile a spec into containers, create, start, stop, list, remove, read logs.</summary>
public sealed partial class DockerShimlet
{
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


    [GeneratedRegex(@"\{\{\s*(port|host)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}

/// <summary>Container creation answered 404: the image is not on the Docker host.</summary>
internal sealed class ImageMissingException(string message, Exception inner) : Exception(message, inner);
