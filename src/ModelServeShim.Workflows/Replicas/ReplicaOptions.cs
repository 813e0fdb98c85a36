using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ModelServeShim.Workflows.Replicas;

/// <summary>
/// Leases and election when several replicas share a PostgreSQL database (section <c>Replicas</c>; docs/ha.md). With
/// SQLite there is one process: it owns every instance and is always the leader, and none of this runs.
/// </summary>
public sealed class ReplicaOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Replicas";

    /// <summary>How often a replica writes its heartbeat and looks for instances whose owner's lease expired. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Replicas:HeartbeatInterval must be between 100 ms and 1 minute.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How old a replica's last heartbeat may be before its instances are taken over by another replica; a replica that
    /// could not write its heartbeat for this long stops itself. At least twice <see cref="HeartbeatInterval"/>. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:10:00", ErrorMessage = "Replicas:LeaseTtl must be between 200 ms and 10 minutes.")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a replica picks up what other replicas recorded for its instances (a cancel, a signal) and a non-leader
    /// tries to become the leader. Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Replicas:PollInterval must be between 50 ms and 1 minute.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many orphaned instances one takeover round claims at most. Default 200.</summary>
    [Range(1, 10_000, ErrorMessage = "Replicas:TakeoverBatch must be between 1 and 10000.")]
    public int TakeoverBatch { get; set; } = 200;

    /// <summary>How often the leader reconciles services with their pipelines (after replicas died). Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Replicas:ReconcileInterval must be between 1 second and 1 hour.")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks what one field cannot: the lease outlives at least two heartbeats.</summary>
internal sealed class ReplicaOptionsValidator : IValidateOptions<ReplicaOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplicaOptions options) =>
        options.LeaseTtl < options.HeartbeatInterval * 2
            ? ValidateOptionsResult.Fail($"Replicas:LeaseTtl ({options.LeaseTtl}) must be at least twice Replicas:HeartbeatInterval ({options.HeartbeatInterval}), so one late heartbeat does not hand a live replica's instances to another.")
            : ValidateOptionsResult.Success;
}

/// <summary>The clock of heartbeats and leases: real time (the runtime's clock may be a test's fake one).</summary>
/// <param name="Time">The clock.</param>
public sealed record ReplicaClock(TimeProvider Time);
