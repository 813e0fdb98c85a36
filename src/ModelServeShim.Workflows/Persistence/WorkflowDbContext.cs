using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// The runtime's state. The provider (SQLite by default) is chosen where the context is registered (<see cref="StateStore"/>);
/// PostgreSQL uses <see cref="Postgres.PostgresWorkflowDbContext"/>, this model with its own migrations.
/// </summary>
public class WorkflowDbContext : DbContext
{
    /// <summary>Creates the context.</summary>
    public WorkflowDbContext(DbContextOptions<WorkflowDbContext> options)
        : base(options)
    {
    }

    /// <summary>Creates a provider's subclass (which has its own migrations).</summary>
    protected WorkflowDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>Definition versions.</summary>
    public DbSet<DefinitionRecord> Definitions => Set<DefinitionRecord>();

    /// <summary>Instances.</summary>
    public DbSet<InstanceRecord> Instances => Set<InstanceRecord>();

    /// <summary>Step attempts.</summary>
    public DbSet<StepExecutionRecord> StepExecutions => Set<StepExecutionRecord>();

    /// <summary>Bookmarks of suspended steps.</summary>
    public DbSet<BookmarkRecord> Bookmarks => Set<BookmarkRecord>();

    /// <summary>Journal entries.</summary>
    public DbSet<JournalRecord> Journal => Set<JournalRecord>();

    /// <summary>The replicas sharing the database (their heartbeats).</summary>
    public DbSet<ReplicaRecord> Replicas => Set<ReplicaRecord>();

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);

        // Stored as sortable integers so ordering and range filters translate on every provider.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<InstanceStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<StepStatus>().HaveConversion<string>().HaveMaxLength(16);
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<DefinitionRecord>(e =>
        {
            e.ToTable("workflow_definitions");
            e.HasKey(x => new { x.DefinitionId, x.Version });
            e.Property(x => x.DefinitionId).HasMaxLength(63);
            e.HasIndex(x => new { x.DefinitionId, x.IsLatest });
        });
        modelBuilder.Entity<InstanceRecord>(e =>
        {
            e.ToTable("workflow_instances");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(64);
            e.HasIndex(x => x.Status);
            e.HasIndex(x => x.CorrelationId);
            e.HasIndex(x => new { x.DefinitionId, x.CreatedAt });
            e.HasIndex(x => x.CreatedAt);
            e.Property(x => x.Owner).HasMaxLength(128);
            e.Property(x => x.CancelReason).HasMaxLength(1000);
            e.Property(x => x.CancelRequestedBy).HasMaxLength(200);
            e.HasIndex(x => new { x.Owner, x.Status });
        });
        modelBuilder.Entity<ReplicaRecord>(e =>
        {
            e.ToTable("workflow_replicas");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(128);
            e.Property(x => x.Host).HasMaxLength(255);
        });
        modelBuilder.Entity<StepExecutionRecord>(e =>
        {
            e.ToTable("step_executions");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.InstanceId, x.ActivityId, x.Attempt });
        });
        modelBuilder.Entity<BookmarkRecord>(e =>
        {
            e.ToTable("workflow_bookmarks");
            e.HasKey(x => x.Id);
            e.Property(x => x.InstanceId).HasMaxLength(64);
            e.Property(x => x.Name).HasMaxLength(64);
            e.Property(x => x.Resolution).HasMaxLength(16);
            e.HasIndex(x => new { x.InstanceId, x.Name });
            e.HasIndex(x => x.ResolvedAt);
        });
        modelBuilder.Entity<JournalRecord>(e =>
        {
            e.ToTable("journal_entries");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.InstanceId, x.Sequence }).IsUnique();
        });
    }
}
