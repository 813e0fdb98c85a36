using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// The control plane's state: services and their history. Shares the database with the runtime, with its own migrations
/// (PostgreSQL: <see cref="PostgresControlPlaneDbContext"/>, this model with its own migrations).
/// </summary>
public class ControlPlaneDbContext : DbContext
{
    /// <summary>Creates the context.</summary>
    public ControlPlaneDbContext(DbContextOptions<ControlPlaneDbContext> options)
        : base(options)
    {
    }

    /// <summary>Creates a provider's subclass (which has its own migrations).</summary>
    protected ControlPlaneDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>The migrations history table of this context.</summary>
    public const string HistoryTable = "__control_plane_migrations";

    /// <summary>Services.</summary>
    public DbSet<ServiceRecord> Services => Set<ServiceRecord>();

    /// <summary>State history.</summary>
    public DbSet<ServiceTransitionRecord> Transitions => Set<ServiceTransitionRecord>();

    /// <summary>Desired states, one per service (also loaded with every service).</summary>
    public DbSet<ServiceDesiredState> DesiredStates => Set<ServiceDesiredState>();

    /// <summary>Health journal: the monitor's probes (rate-limited) and the transitions they caused.</summary>
    public DbSet<ServiceHealthRecord> HealthJournal => Set<ServiceHealthRecord>();

    /// <summary>Desired-state history: who changed what, when.</summary>
    public DbSet<ServiceDesiredStateChange> DesiredStateChanges => Set<ServiceDesiredStateChange>();

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<ServiceState>().HaveConversion<string>().HaveMaxLength(24);
        configurationBuilder.Properties<ServiceOperation>().HaveConversion<string>().HaveMaxLength(24);
    }

    /// <summary>Digests of model files the checksum-verification step computed, by path and file stamp.</summary>
    public DbSet<FileChecksumRecord> FileChecksums => Set<FileChecksumRecord>();

    /// <summary>The cluster's event feed (written and read on PostgreSQL only; see <see cref="PostgresEventLog"/>).</summary>
    public DbSet<ServerEventRecord> ServerEvents => Set<ServerEventRecord>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<ServiceRecord>(e =>
        {
            e.ToTable("model_services");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(110);
            e.Property(x => x.Revision).IsConcurrencyToken();
            e.HasIndex(x => new { x.ModelName, x.State });
            e.HasIndex(x => x.CreatedAt);
            e.HasOne(x => x.Desired).WithOne().HasForeignKey<ServiceDesiredState>(x => x.ServiceId).IsRequired().OnDelete(DeleteBehavior.Cascade);
            e.Navigation(x => x.Desired).AutoInclude().IsRequired();
        });
        modelBuilder.Entity<ServiceDesiredState>(e =>
        {
            e.ToTable("model_service_desired_states");
            e.HasKey(x => x.ServiceId);
            e.Property(x => x.ServiceId).HasMaxLength(110);
            e.Ignore(x => x.AcceleratorType);
            e.Ignore(x => x.AcceleratorCount);
            e.Property(x => x.Resources).HasConversion(new JsonValueConverter<ResourceRequirements>(), new JsonValueComparer<ResourceRequirements>()).HasColumnName("ResourcesJson");
            e.Property(x => x.Labels).HasConversion(new JsonValueConverter<Dictionary<string, string>?>(), new JsonValueComparer<Dictionary<string, string>?>()).HasColumnName("LabelsJson");
            e.Property(x => x.Checksums).HasConversion(new JsonValueConverter<Dictionary<string, string>?>(), new JsonValueComparer<Dictionary<string, string>?>()).HasColumnName("ChecksumsJson");
            e.Property(x => x.Quantization).HasConversion(new JsonValueConverter<QuantizationRequest?>(), new JsonValueComparer<QuantizationRequest?>()).HasColumnName("QuantizationJson");
        });
        modelBuilder.Entity<ServiceHealthRecord>(e =>
        {
            e.ToTable("model_service_health");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ServiceId, x.Id });
        });
        modelBuilder.Entity<ServiceDesiredStateChange>(e =>
        {
            e.ToTable("model_service_desired_state_changes");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ServiceId, x.Id });
        });
        modelBuilder.Entity<FileChecksumRecord>(e =>
        {
            e.ToTable("model_file_checksums");
            e.HasKey(x => x.Path);
            e.Property(x => x.Sha256).HasMaxLength(64);
        });
        modelBuilder.Entity<ServerEventRecord>(e =>
        {
            e.ToTable("server_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Name).HasMaxLength(32);
            e.Property(x => x.Replica).HasMaxLength(128);
            e.HasIndex(x => x.CreatedAt);
        });
        modelBuilder.Entity<ServiceTransitionRecord>(e =>
        {
            e.ToTable("model_service_transitions");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ServiceId, x.Id });
        });
    }

    /// <summary>A value stored as JSON text.</summary>
    private sealed class JsonValueConverter<T>() : ValueConverter<T, string>(
        v => JsonSerializer.Serialize(v, DeployRequestValidator.Json),
        v => JsonSerializer.Deserialize<T>(v, DeployRequestValidator.Json)!);

    /// <summary>Compares JSON-stored values by their JSON, so a change inside one is seen.</summary>
    private sealed class JsonValueComparer<T>() : ValueComparer<T>(
        (a, b) => JsonSerializer.Serialize(a, DeployRequestValidator.Json) == JsonSerializer.Serialize(b, DeployRequestValidator.Json),
        v => JsonSerializer.Serialize(v, DeployRequestValidator.Json).GetHashCode(StringComparison.Ordinal),
        v => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, DeployRequestValidator.Json), DeployRequestValidator.Json)!);

    /// <summary>Configures the context for the SQLite file the runtime uses.</summary>
    public static void UseSqlite(DbContextOptionsBuilder builder, string path) =>
        builder.UseWorkflowSqlite(path).UseSqlite(o => o
            .MigrationsHistoryTable(HistoryTable)
            .MigrationsAssembly(typeof(ControlPlaneDbContext).Assembly.FullName));
}

/// <summary>The control plane's context on PostgreSQL: the same model, with the PostgreSQL migrations (<c>Migrations/Postgres</c>).</summary>
public sealed class PostgresControlPlaneDbContext(DbContextOptions<PostgresControlPlaneDbContext> options) : ControlPlaneDbContext(options);

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL context at design time (no server is contacted).</summary>
internal sealed class PostgresControlPlaneDesignTimeFactory : IDesignTimeDbContextFactory<PostgresControlPlaneDbContext>
{
    public PostgresControlPlaneDbContext CreateDbContext(string[] args) => new(new DbContextOptionsBuilder<PostgresControlPlaneDbContext>()
        .UseNpgsql("Host=localhost;Database=design_time;Username=design_time", o => o.MigrationsHistoryTable(ControlPlaneDbContext.HistoryTable))
        .Options);
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context at design time.</summary>
internal sealed class ControlPlaneDesignTimeFactory : IDesignTimeDbContextFactory<ControlPlaneDbContext>
{
    public ControlPlaneDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<ControlPlaneDbContext>();
        ControlPlaneDbContext.UseSqlite(builder, "design-time.db");
        return new ControlPlaneDbContext(builder.Options);
    }
}
