using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace ModelServeShim.Workflows.Persistence.Postgres;

/// <summary>
/// The runtime's context on PostgreSQL: the same model as <see cref="WorkflowDbContext"/>, with the PostgreSQL
/// migrations (<c>Persistence/Migrations/Postgres</c>). The code asks for <see cref="WorkflowDbContext"/>; the store hands
/// this one out.
/// </summary>
public sealed class PostgresWorkflowDbContext(DbContextOptions<PostgresWorkflowDbContext> options) : WorkflowDbContext(options);

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL context at design time (no server is contacted).</summary>
internal sealed class PostgresWorkflowDesignTimeFactory : IDesignTimeDbContextFactory<PostgresWorkflowDbContext>
{
    public PostgresWorkflowDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresWorkflowDbContext>().UseNpgsql("Host=localhost;Database=design_time;Username=design_time").Options);
}
