using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>SQLite settings: WAL journal, NORMAL synchronous (durable across process crashes), a busy timeout.</summary>
public static class SqliteSetup
{
    /// <summary>Run on every connection: WAL journal, NORMAL synchronous, a 30 s busy timeout.</summary>
    internal const string Pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";

    /// <summary>Configures a context for the SQLite file at <paramref name="path"/>.</summary>
    public static DbContextOptionsBuilder UseWorkflowSqlite(this DbContextOptionsBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .UseSqlite($"Data Source={path};Pooling=True;Default Timeout=30", o => o.MigrationsAssembly(typeof(SqliteSetup).Assembly.FullName))
            .AddInterceptors(PragmaInterceptor.Instance);
    }

    /// <summary>
    /// The runtime's writer for the SQLite file at <paramref name="path"/>: its own long-lived connection (not
    /// pooled, so disposing it closes the file), next to the pooled ones EF Core reads through.
    /// </summary>
    internal static IStateWriter CreateStateWriter(string path) => new SqliteStateWriter($"Data Source={path};Pooling=False;Default Timeout=30");

    private sealed class PragmaInterceptor : DbConnectionInterceptor
    {
        public static readonly PragmaInterceptor Instance = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        private static void Apply(DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            command.ExecuteNonQuery();
        }
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context at design time.</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<WorkflowDbContext>
{
    public WorkflowDbContext CreateDbContext(string[] args) =>
        new((DbContextOptions<WorkflowDbContext>)new DbContextOptionsBuilder<WorkflowDbContext>().UseWorkflowSqlite("design-time.db").Options);
}
