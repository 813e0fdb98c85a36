using System.ComponentModel;
using System.Diagnostics;

namespace ModelServeShim.Shimlets.Local;

/// <summary>
/// One running replica process, identified by pid and start time: either started by this shimlet (a child, whose exit
/// code is known) or adopted from a previous orchestrator run (watched through procfs).
/// </summary>
internal sealed class ReplicaProcess : IDisposable
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollStep = TimeSpan.FromMilliseconds(50);

    private readonly Process? _child;
    private Task? _exited;

    private ReplicaProcess(Process? child, int pid, ulong startTime)
    {
        _child = child;
        Pid = pid;
        StartTime = startTime;
    }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>Its start time in clock ticks after boot; with the pid it identifies the process.</summary>
    public ulong StartTime { get; }

    /// <summary>Whether it was adopted rather than started by this shimlet.</summary>
    public bool Adopted => _child is null;

    /// <summary>Whether the process has ended (or the pid now belongs to another process).</summary>
    public bool HasExited
    {
        get
        {
            if (_child is not null)
            {
                return _child.HasExited;
            }

            return ProcFs.ReadStat(Pid) is not { IsDead: false } stat || stat.StartTime != StartTime;
        }
    }

    /// <summary>
    /// Completes when a child process exits; never for an adopted process (not our child: <see cref="HasExited"/>
    /// reads procfs on each supervisor poll instead).
    /// </summary>
    public Task Exited => _exited ??= _child is null ? new TaskCompletionSource().Task : _child.WaitForExitAsync();

    /// <summary>The exit code of an ended child; null for an adopted process or one still running.</summary>
    public int? ExitCode => _child is { HasExited: true } ? _child.ExitCode : null;

    /// <summary>Starts a child process.</summary>
    public static ReplicaProcess Start(ProcessStartInfo startInfo)
    {
        var child = Process.Start(startInfo) ?? throw new InvalidOperationException($"'{startInfo.FileName}' did not start.");
        var stat = ProcFs.ReadStat(child.Id);
        return new ReplicaProcess(child, child.Id, stat?.StartTime ?? 0);
    }

    /// <summary>
    /// Adopts the process with this pid if it is alive, started at <paramref name="startTime"/> and runs one of
    /// <paramref name="cmdlines"/>; otherwise null (a reused pid is never adopted).
    /// </summary>
    public static ReplicaProcess? TryAdopt(int pid, ulong startTime, IEnumerable<IReadOnlyList<string>?> cmdlines)
    {
        if (ProcFs.ReadStat(pid) is not { IsDead: false } stat || stat.StartTime != startTime)
        {
            return null;
        }

        var cmdline = ProcFs.ReadCmdline(pid);
        if (cmdline is null || !cmdlines.Any(c => c is not null && c.SequenceEqual(cmdline, StringComparer.Ordinal)))
        {
            return null;
        }

        return new ReplicaProcess(null, pid, startTime);
    }

    /// <summary>The process's argv as procfs shows it now, while it is still this process.</summary>
    public IReadOnlyList<string>? ReadCmdline() => HasExited ? null : ProcFs.ReadCmdline(Pid);

    /// <summary>
    /// SIGTERM, then up to <paramref name="gracePeriod"/> for it to exit, then SIGKILL to it and its children.
    /// Returns true when it exited within the grace period.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan gracePeriod, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (HasExited)
        {
            return true;
        }

        ProcFs.SendSigterm(Pid);
        if (await WaitForExitAsync(gracePeriod, timeProvider, cancellationToken))
        {
            return true;
        }

        KillTree();
        await WaitForExitAsync(KillWait, timeProvider, cancellationToken);
        return false;
    }

    /// <inheritdoc />
    public void Dispose() => _child?.Dispose();

    private async Task<bool> WaitForExitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, cancellationToken);
        try
        {
            if (_child is not null)
            {
                await _child.WaitForExitAsync(linked.Token);
                return true;
            }

            while (!HasExited)
            {
                await Task.Delay(PollStep, timeProvider, linked.Token);
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HasExited;
        }
    }

    private void KillTree()
    {
        if (_child is not null)
        {
            try
            {
                _child.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            return;
        }

        if (HasExited)
        {
            return; // never signal a pid that may have been reused
        }

        try
        {
            using var process = Process.GetProcessById(Pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Win32Exception)
        {
            // Gone between the check and the kill.
        }
    }
}
