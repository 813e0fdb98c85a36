using System.Globalization;
using Docker.DotNet.Models;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>What an inspected container says about its replica: stopped on purpose, up, or why it does not serve.</summary>
internal static class DockerStatusMapper
{
    /// <summary>Whether the container runs (and is not between restarts).</summary>
    public static bool IsUp(ContainerInspectResponse inspect) => inspect.State.Running && !inspect.State.Restarting;

    /// <summary>Stopped by the shimlet (scaled to zero): its restart policy "no" marks it; it is not a replica then.</summary>
    public static bool StoppedOnPurpose(ContainerInspectResponse inspect) =>
        inspect.HostConfig?.RestartPolicy?.Name == RestartPolicyKind.No && !IsUp(inspect);

    /// <summary>
    /// Why a container that is not stopped on purpose does not serve: killed at its memory limit or restarted
    /// <paramref name="crashLoopRestarts"/> times (the message then ends with its last log lines, <c>WithLog</c>), exited on
    /// its own, refused by Docker, or still starting.
    /// </summary>
    public static (UnhealthyReason Reason, string Message, bool WithLog) Problem(ContainerInspectResponse inspect, int crashLoopRestarts)
    {
        var state = inspect.State;
        var up = IsUp(inspect);
        var name = inspect.Name.TrimStart('/');
        if (!up && state.OOMKilled)
        {
            return (UnhealthyReason.Failed,
                $"{name} was killed for running out of memory (OOMKilled) at its limit of {Describe(inspect.HostConfig?.Memory ?? 0)}: "
                + "raise resources.memory (the model's weights, its context's KV cache and the runtime must fit).", true);
        }

        if (!up && inspect.RestartCount >= crashLoopRestarts)
        {
            return (UnhealthyReason.CrashLoop, $"{name} restarted {inspect.RestartCount} times (last exit code {state.ExitCode}).", true);
        }

        if (!up && state.Status == "exited" && state.ExitCode == 0)
        {
            return (UnhealthyReason.Failed, $"{name} exited with code 0: the runtime stopped on its own and is not restarted.", false);
        }

        if (!string.IsNullOrEmpty(state.Error))
        {
            return (UnhealthyReason.Failed, $"{name}: {state.Error}", false);
        }

        return (UnhealthyReason.Pending, $"{name} is {state.Status}{(up ? ", its health probe does not answer 200 yet" : string.Empty)}.", false);
    }

    private static string Describe(long bytes) =>
        bytes <= 0 ? "no limit"
        : bytes % (1024 * 1024) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024)}Mi")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");
}
