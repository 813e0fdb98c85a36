using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>The control plane's state: services and their history. Shares the database file with the runtime, with its own migrations.</summary>
public class ControlPlaneDbContext(DbContextOptions<ControlPlaneDbContext> options) : DbContext(options)
{
    /// <summary>The migrations history table of this context.</summary>
    public const string HistoryTable = "__control_plane_migrations";

    /// <summary>Services.</summary>
    public DbSet<ServiceRecord> Services => Set<ServiceRecord>();

    /// <summary>State history.</summary>
    public DbSet<ServiceTransitionRecord> Transitions => Set<ServiceTransitionRecord>();

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<ServiceState>().HaveConversion<string>().HaveMaxLength(24);
    }

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
        });
        modelBuilder.Entity<ServiceTransitionRecord>(e =>
        {
            e.ToTable("model_service_transitions");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ServiceId, x.Id });
        });
    }

    /// <summary>Configures the context for the SQLite file the runtime uses.</summary>
    public static void UseSqlite(DbContextOptionsBuilder builder, string path) =>
        builder.UseWorkflowSqlite(path).UseSqlite(o => o
            .MigrationsHistoryTable(HistoryTable)
            .MigrationsAssembly(typeof(ControlPlaneDbContext).Assembly.FullName));
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
