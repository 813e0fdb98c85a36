using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using ModelServeShim.Testing.Postgres;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;

namespace ModelServeShim.Workflows.Tests.Persistence;

/// <summary>A first start on an empty PostgreSQL database migrates it without an error in the log (EF Core logs its read of the missing history table as one).</summary>
public sealed class MigrationLogTests
{
    [Fact]
    public async Task FreshPostgresDatabase_IsMigrated_WithNoWarningOrErrorLogged()
    {
        var cluster = PostgresCluster.Shared;
        var connectionString = $"{cluster.CreateDatabase("migration-log")};Password={cluster.Password}";
        var logged = new ConcurrentQueue<string>();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning).AddProvider(new Capture(logged)));
        var options = new DbContextOptionsBuilder<PostgresWorkflowDbContext>().UseNpgsql(connectionString).UseLoggerFactory(loggers).Options;

        await using (var db = new PostgresWorkflowDbContext(options))
        {
            Assert.True(await db.Database.MigrateIfBehindAsync(CancellationToken.None));
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        }

        await using (var again = new PostgresWorkflowDbContext(options))
        {
            Assert.False(await again.Database.MigrateIfBehindAsync(CancellationToken.None));
        }

        Assert.Empty(logged);
    }

    private sealed class Capture(ConcurrentQueue<string> logged) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, logged);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> logged) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logged.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
        }
    }
}
