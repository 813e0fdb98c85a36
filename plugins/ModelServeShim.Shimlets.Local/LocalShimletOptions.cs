using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Shimlets.Local;

/// <summary>
/// Settings of the local shimlet, bound from the configuration section <c>Shimlets:Local</c>.
/// </summary>
public sealed class LocalShimletOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shimlets:Local";

    /// <summary>
    /// Where service records, working directories and logs live. Null: <c>&lt;data-dir&gt;/local-shimlet</c>, with the
    /// data directory read from <c>ModelServeShim:DataDir</c> (default <c>data</c>).
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>The shell used as an exec trampoline that redirects a runtime's output to its log file. Default <c>/bin/sh</c>.</summary>
    [Required]
    public string ShellPath { get; set; } = "/bin/sh";

    /// <summary>How long a stopped process may take to exit after SIGTERM before it and its children are killed. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Delay before the first restart of a crashed process; multiplied by <see cref="RestartBackoffMultiplier"/> per further crash. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RestartInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between restarts. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RestartMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Factor between consecutive restart delays. Default 2.</summary>
    [Range(1.0, 10.0)]
    public double RestartBackoffMultiplier { get; set; } = 2.0;

    /// <summary>
    /// Restarts allowed within <see cref="RestartWindow"/>; the next crash stops restarting and the replica reports
    /// <c>crash-loop</c>. Default 5.
    /// </summary>
    [Range(0, 1000)]
    public int MaxRestarts { get; set; } = 5;

    /// <summary>The sliding window crashes are counted in. Default 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RestartWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Size at which a replica's log file is rotated (copy, then truncate). Default 10 MiB.</summary>
    [Range(4096L, long.MaxValue)]
    public long MaxLogFileBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Rotated log files kept per replica (<c>.1</c> newest). Default 3.</summary>
    [Range(0, 100)]
    public int MaxLogFiles { get; set; } = 3;

    /// <summary>Log lines kept in memory per replica for <c>GetLogsAsync</c>. Default 1000.</summary>
    [Range(1, 100_000)]
    public int LogTailLines { get; set; } = 1000;

    /// <summary>Log lines quoted in a crash-loop status message. Default 20.</summary>
    [Range(0, 1000)]
    public int CrashLogTailLines { get; set; } = 20;

    /// <summary>
    /// How often each replica's process is checked and its log read (a child's exit is noticed at once regardless), and
    /// the longest wait between a status watch's fallback reads. Default 500 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Wait from a replica's process start to its supervisor's first readiness probe (GET of the health path), and the
    /// first wait of a status watch's fallback reads after a change. Later probe waits grow by
    /// <see cref="ReadinessProbeBackoffMultiplier"/> up to <see cref="ReadinessProbeMaxInterval"/>. When the probe first
    /// answers 200 the supervisor signals the change, so a watch yields Running at once instead of at its next read.
    /// Default 50 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan ReadinessProbeInitialInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Longest wait between readiness probes of a starting replica. It bounds how late readiness is noticed: a runtime
    /// that loads for longer than a few probes becomes ready at a random point of a wait, so it is noticed half this
    /// late on average. A probe of 127.0.0.1 costs a fraction of a millisecond, so the default is short: 100 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan ReadinessProbeMaxInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Factor between consecutive readiness probe waits. Default 2.</summary>
    [Range(1.0, 10.0)]
    public double ReadinessProbeBackoffMultiplier { get; set; } = 2.0;

    /// <summary>Timeout of one health request to a replica. Default 2 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan HealthProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
