using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Persistence;

/// <summary>The start's migration runs only when the database is behind.</summary>
public sealed class MigrationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mss-migrate-");

    [Fact]
    public async Task MigrateIfBehind_MigratesAFreshDatabase_ThenSkipsTheCurrentOne()
    {
        await using var db = Context();

        Assert.True(await db.Database.MigrateIfBehindAsync(CancellationToken.None));
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.Equal(0, await db.Definitions.CountAsync());
        Assert.False(await db.Database.MigrateIfBehindAsync(CancellationToken.None));
    }

    [Fact]
    public async Task MigrateIfBehind_ADatabaseAtAnOlderMigration_AppliesTheRest()
    {
        await using var db = Context();
        var migrations = db.Database.GetMigrations().ToList();
        await db.GetService<IMigrator>().MigrateAsync(migrations[0]);

        Assert.True(await db.Database.MigrateIfBehindAsync(CancellationToken.None));
        Assert.Equal(migrations, await db.Database.GetAppliedMigrationsAsync());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private WorkflowDbContext Context() =>
        new((DbContextOptions<WorkflowDbContext>)new DbContextOptionsBuilder<WorkflowDbContext>().UseWorkflowSqlite(Path.Combine(_dir.FullName, "state.db")).Options);
}
