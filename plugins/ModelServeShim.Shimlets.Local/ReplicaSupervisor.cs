using System.ComponentModel;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>Where a replica is in its life.</summary>
internal enum ReplicaState
{
    /// <summary>A process runs (it may not be ready yet).</summary>
    Running,
    /// <summary>The process ended; a restart is scheduled.</summary>
    BackingOff,
    /// <summary>It crashed too often within the window; no more restarts until the next apply.</summary>
    CrashLoop,
    /// <summary>Stopped on purpose.</summary>
    Stopped,
}

/// <summary>A replica as status reads it.</summary>
internal sealed record ReplicaSnapshot(
    int Index,
    int Port,
    ReplicaState State,
    int? Pid,
    bool Adopted,
    DateTimeOffset? StartedAt,
    int? LastExitCode,
    DateTimeOffset? LastExitAt,
    int Restarts,
    int CrashesInWindow,
    DateTimeOffset? NextStartAt,
    string? LastError,
    bool Ready);

/// <summary>
/// Keeps one replica's process running: checks it every poll interval (and at once when a child process exits), reads
/// its log, and restarts it after a crash with exponential backoff until too many crashes fall within the restart
/// window (crash loop). While a started process is not ready yet it probes the health path on a short, growing
/// schedule and signals the moment it first answers, so a status watch need not poll for it.
/// </summary>
internal sealed class ReplicaSupervisor : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _crashes = [];
    private readonly LaunchPlan _plan;
    private readonly LocalShimletOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _serviceId;
    private readonly Action _changed;
    private readonly Action _readinessChanged;
    private readonly Func<int, CancellationToken, Task<bool>> _probe;
    private readonly ProbeBackoff _readinessBackoff;
    private readonly ProbeBackoff _restartBackoff;
    private readonly CancellationTokenSource _stopLoop = new();

    private ReplicaProcess? _process;
    private IReadOnlyList<string>? _observedCmdline;
    private ReplicaState _state = ReplicaState.Stopped;
    private DateTimeOffset? _startedAt;
    private int? _lastExitCode;
    private DateTimeOffset? _lastExitAt;
    private DateTimeOffset _nextStartAt;
    private string? _lastError;
    private int _restarts;
    private bool _ready;
    private DateTimeOffset _nextReadinessProbeAt;
    private Task? _loop;

    /// <summary>
    /// A supervisor for one replica. <paramref name="changed"/> is called after the process started, exited or was
    /// restarted (persist and signal); <paramref name="probe"/> tells whether the replica on a port answers its health
    /// path with 200; <paramref name="readinessChanged"/> is called when a probe first finds the current process ready.
    /// </summary>
    public ReplicaSupervisor(string serviceId, int index, int port, LaunchPlan plan, LocalShimletOptions options,
        TimeProvider time, ILogger logger, Func<long> nextLogSequence, Action changed,
        Func<int, CancellationToken, Task<bool>> probe, Action readinessChanged)
    {
        _serviceId = serviceId;
        Index = index;
        Port = port;
        _plan = plan;
        _options = options;
        _time = time;
        _logger = logger;
        _changed = changed;
        _probe = probe;
        _readinessChanged = readinessChanged;
        _readinessBackoff = new ProbeBackoff(options.ReadinessProbeInitialInterval, options.ReadinessProbeMaxInterval, options.ReadinessProbeBackoffMultiplier);
        _restartBackoff = new ProbeBackoff(options.RestartInitialDelay, options.RestartMaxDelay, options.RestartBackoffMultiplier);
        Log = new ReplicaLog(plan.LogPath(index), options, nextLogSequence);
    }

    public int Index { get; }

    public int Port { get; }

    public ReplicaLog Log { get; }

    /// <summary>Starts the process; failures are thrown to the caller (an apply or scale).</summary>
    public void Start()
    {
        lock (_gate)
        {
            Launch();
        }

        _changed();
    }

    /// <summary>Adopts a process from a previous run when it is still the one recorded.</summary>
    public bool TryAdopt(ReplicaRecord record)
    {
        if (record.Pid is not { } pid || ReplicaProcess.TryAdopt(pid, record.StartTime, record.Cmdline) is not { } process)
        {
            return false;
        }

        lock (_gate)
        {
            _process = process;
            _state = ReplicaState.Running;
            _startedAt = record.StartedAt ?? _time.GetUtcNow();
            _observedCmdline = process.ReadCmdline();
            ExpectReadiness();
        }

        Log.LoadExisting();
        _logger.LogInformation("Adopted replica {Index} of {ServiceId}: pid {Pid} on port {Port}", Index, _serviceId, pid, Port);
        return true;
    }

    /// <summary>Starts the process after an orchestrator restart; a failure schedules a retry like a crash.</summary>
    public void StartOrBackOff()
    {
        Log.LoadExisting();
        try
        {
            Start();
        }
        catch (StepException e)
        {
            lock (_gate)
            {
                _lastError = e.Message;
                RecordCrash();
            }

            _changed();
        }
    }

    /// <summary>Starts a replica that gave up after a crash loop again, with a fresh crash count. True when it did.</summary>
    public bool RestartIfCrashLooping()
    {
        lock (_gate)
        {
            if (_state != ReplicaState.CrashLoop)
            {
                return false;
            }

            _crashes.Clear();
            Launch();
        }

        _changed();
        return true;
    }

    /// <summary>Begins supervising.</summary>
    public void Run() => _loop ??= Task.Run(() => LoopAsync(_stopLoop.Token));

    /// <summary>Stops supervising and the process: SIGTERM, grace period, then SIGKILL to the tree.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopLoopAsync();
        ReplicaProcess? process;
        lock (_gate)
        {
            process = _process;
            _state = ReplicaState.Stopped;
        }

        if (process is not null)
        {
            var graceful = await process.StopAsync(_options.StopGracePeriod, _time, cancellationToken);
            if (!graceful)
            {
                _logger.LogWarning("Replica {Index} of {ServiceId} (pid {Pid}) ignored SIGTERM for {GracePeriod}; killed", Index, _serviceId, process.Pid, _options.StopGracePeriod);
            }

            lock (_gate)
            {
                _process = null;
            }

            process.Dispose();
        }

        Log.Pump();
    }

    /// <summary>Stops supervising and leaves the process running (orchestrator shutdown: the next run adopts it).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        _stopLoop.Dispose();
        lock (_gate)
        {
            _process?.Dispose();
            _process = null;
        }
    }

    public ReplicaSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new ReplicaSnapshot(Index, Port, _state, _process?.Pid, _process?.Adopted ?? false, _startedAt, _lastExitCode, _lastExitAt,
                _restarts, _crashes.Count, _state == ReplicaState.BackingOff ? _nextStartAt : null, _lastError, _ready && _process is not null);
        }
    }

    public ReplicaRecord ToRecord()
    {
        lock (_gate)
        {
            var cmdlines = new List<IReadOnlyList<string>> { _plan.Argv(Port) };
            if (_observedCmdline is { } observed && !observed.SequenceEqual(cmdlines[0], StringComparer.Ordinal))
            {
                cmdlines.Add(observed);
            }

            return new ReplicaRecord(Index, Port, _process?.Pid, _process?.StartTime ?? 0, cmdlines, _process is null ? null : _startedAt);
        }
    }

    private async Task StopLoopAsync()
    {
        if (!_stopLoop.IsCancellationRequested)
        {
            await _stopLoop.CancelAsync();
        }

        if (_loop is { } loop)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
                // The loop ends by cancellation.
            }
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Tick();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning(e, "Supervising replica {Index} of {ServiceId} failed this round", Index, _serviceId);
            }

            await ProbeReadinessIfDueAsync(cancellationToken);

            // Sleep until the next poll or readiness probe, or until a child process exits.
            Task? exited;
            TimeSpan wait = _options.PollInterval;
            lock (_gate)
            {
                exited = _process?.Exited is { IsCompleted: false } pending ? pending : null;
                if (ReadinessPending)
                {
                    var untilProbe = _nextReadinessProbeAt - _time.GetUtcNow();
                    wait = untilProbe < wait ? untilProbe : wait;
                }
            }

            var delay = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time, cancellationToken);
            if (exited is not null)
            {
                await Task.WhenAny(delay, exited);
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await delay;
            }
        }
    }

    /// <summary>A process runs that has not answered its health path yet. Caller holds the lock.</summary>
    private bool ReadinessPending => _state == ReplicaState.Running && _process is not null && !_ready;

    /// <summary>Starts the readiness schedule over for a new process. Caller holds the lock.</summary>
    private void ExpectReadiness()
    {
        _ready = false;
        _readinessBackoff.Reset();
        _nextReadinessProbeAt = _time.GetUtcNow() + _readinessBackoff.Next();
    }

    /// <summary>Probes a starting process when its next probe is due; signals when it first answers.</summary>
    private async Task ProbeReadinessIfDueAsync(CancellationToken cancellationToken)
    {
        ReplicaProcess? probed;
        lock (_gate)
        {
            if (!ReadinessPending || _time.GetUtcNow() < _nextReadinessProbeAt)
            {
                return;
            }

            probed = _process;
        }

        var ready = await _probe(Port, cancellationToken);
        lock (_gate)
        {
            if (!ReferenceEquals(probed, _process) || !ReadinessPending)
            {
                return; // restarted or stopped meanwhile: its own schedule applies
            }

            if (!ready)
            {
                _nextReadinessProbeAt = _time.GetUtcNow() + _readinessBackoff.Next();
                return;
            }

            _ready = true;
        }

        _logger.LogInformation("Replica {Index} of {ServiceId} answers its health path on port {Port}", Index, _serviceId, Port);
        _readinessChanged();
    }

    private void Tick()
    {
        Log.Pump();
        var changed = false;
        lock (_gate)
        {
            if (_state == ReplicaState.Running && _process is { HasExited: true } process)
            {
                _lastExitCode = process.ExitCode;
                _lastError = null;
                process.Dispose();
                _process = null;
                RecordCrash();
                changed = true;
            }
            else if (_state == ReplicaState.Running && _observedCmdline is null && _process is { } running)
            {
                // After the trampoline's exec the runtime's own argv shows (an interpreter may prefix a script's).
                var cmdline = running.ReadCmdline();
                if (cmdline is { Count: > 0 } && cmdline[0] != _plan.ShellPath)
                {
                    _observedCmdline = cmdline;
                    changed = true;
                }
            }

            if (_state == ReplicaState.BackingOff && _time.GetUtcNow() >= _nextStartAt)
            {
                try
                {
                    Launch();
                }
                catch (StepException e)
                {
                    _lastError = e.Message;
                    RecordCrash();
                }

                changed = true;
            }
        }

        if (changed)
        {
            Log.Pump();
            _changed();
        }
    }

    /// <summary>Counts a crash and schedules the next start, or gives up. Caller holds the lock.</summary>
    private void RecordCrash()
    {
        var now = _time.GetUtcNow();
        _lastExitAt = now;
        _crashes.Add(now);
        _crashes.RemoveAll(t => now - t > _options.RestartWindow);
        if (_crashes.Count > _options.MaxRestarts)
        {
            _state = ReplicaState.CrashLoop;
            _logger.LogWarning("Replica {Index} of {ServiceId} crashed {Crashes} times within {Window} (last exit code {ExitCode}); not restarting it",
                Index, _serviceId, _crashes.Count, _options.RestartWindow, _lastExitCode);
            return;
        }

        var delay = _restartBackoff.Wait(_crashes.Count);
        _nextStartAt = now + delay;
        _state = ReplicaState.BackingOff;
        _logger.LogInformation("Replica {Index} of {ServiceId} exited (code {ExitCode}); restarting in {Delay}", Index, _serviceId, _lastExitCode, delay);
    }

    /// <summary>Starts the process. Caller holds the lock.</summary>
    private void Launch()
    {
        Directory.CreateDirectory(_plan.LogDirectory);
        Directory.CreateDirectory(_plan.WorkingDirectory);
        ReplicaProcess process;
        try
        {
            process = ReplicaProcess.Start(_plan.StartInfo(Index, Port));
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            throw new StepException(LocalErrorTypes.ProcessStartFailed,
                $"Could not start replica {Index} of {_serviceId} ({_plan.Executable}): {e.Message}", retryable: true, e);
        }

        var restart = _startedAt is not null;
        _process = process;
        _observedCmdline = null;
        _state = ReplicaState.Running;
        _startedAt = _time.GetUtcNow();
        ExpectReadiness();
        if (restart)
        {
            _restarts++;
        }

        _logger.LogInformation("Started replica {Index} of {ServiceId}: pid {Pid} on port {Port}", Index, _serviceId, process.Pid, Port);
    }
}
