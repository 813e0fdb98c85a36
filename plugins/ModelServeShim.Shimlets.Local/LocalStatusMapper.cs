using System.Globalization;
using System.Text;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>What a replica's supervisor and its health probe say about it: ready, or why not, in words that name the replica.</summary>
internal static class LocalStatusMapper
{
    /// <summary>Where the replica on <paramref name="port"/> answers.</summary>
    public static Uri ReplicaEndpoint(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://{LaunchPlan.Host}:{port}"));

    /// <summary>
    /// The replica as <see cref="ReplicaHealth"/> aggregates it: ready when its probe answered; a crash loop (with its last
    /// log lines, read only then); failed when it runs but did not answer within the spec's startup timeout; otherwise
    /// pending (restarting after an exit, or not answering yet).
    /// </summary>
    public static ReplicaReading Read(ReplicaSnapshot replica, bool ready, DeploymentSpec spec, DateTimeOffset now,
        Func<IReadOnlyList<string>> crashLog, TimeSpan restartWindow)
    {
        var endpoint = ReplicaEndpoint(replica.Port);
        if (ready)
        {
            return new ReplicaReading(endpoint, Ready: true);
        }

        if (replica.State == ReplicaState.CrashLoop)
        {
            return new ReplicaReading(endpoint, Ready: false, UnhealthyReason.CrashLoop, CrashLoopMessage(replica, restartWindow, crashLog()));
        }

        if (replica is { State: ReplicaState.Running, StartedAt: { } started } && now - started > spec.StartupTimeout)
        {
            return new ReplicaReading(endpoint, Ready: false, UnhealthyReason.Failed, string.Create(CultureInfo.InvariantCulture,
                $"Replica {replica.Index} did not answer GET {spec.HealthPath} with 200 within the startup timeout {spec.StartupTimeout}."));
        }

        return new ReplicaReading(endpoint, Ready: false, UnhealthyReason.Pending, replica.State == ReplicaState.BackingOff
            ? string.Create(CultureInfo.InvariantCulture, $"replica {replica.Index} exited (code {replica.LastExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}) and restarts at {replica.NextStartAt:O}")
            : string.Create(CultureInfo.InvariantCulture, $"replica {replica.Index} (pid {replica.Pid}) does not answer GET {spec.HealthPath} with 200 yet"));
    }

    private static string CrashLoopMessage(ReplicaSnapshot replica, TimeSpan restartWindow, IReadOnlyList<string> lastLines)
    {
        var exit = replica.LastExitCode is { } code ? $"exit code {code}" : replica.LastError ?? "exit code unknown";
        var message = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"Replica {replica.Index} crashed {replica.CrashesInWindow} times within {restartWindow} (last: {exit}); it is not restarted again until the next apply."));
        if (lastLines.Count > 0)
        {
            message.Append("\nLast log lines:\n").AppendJoin('\n', lastLines);
        }

        return message.ToString();
    }
}
