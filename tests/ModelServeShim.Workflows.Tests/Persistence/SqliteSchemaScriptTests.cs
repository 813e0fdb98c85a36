using Microsoft.EntityFrameworkCore;
using ModelServeShim.Testing.EfCore;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Persistence;

/// <summary>The committed fresh-database script of <see cref="WorkflowDbContext"/> is current and creates what the migrations create.</summary>
public sealed class SqliteSchemaScriptTests
{
    private static readonly string Committed = Path.Combine(CompiledModelCheck.RepositoryRoot(), "src", "ModelServeShim.Workflows", "Persistence", "Migrations", "WorkflowDbContext.sqlite.sql");

    private static WorkflowDbContext Create(string path) =>
        new((DbContextOptions<WorkflowDbContext>)new DbContextOptionsBuilder<WorkflowDbContext>().UseWorkflowSqlite(path).Options);

    [Fact]
    public void Script_IsWhatTheMigrationsGenerate_ElseRunScriptsEfCompiledModels()
    {
        using var context = new DesignTimeFactory().CreateDbContext([]);

        var stale = SqliteSchemaScriptCheck.Stale(context, Committed);

        Assert.True(stale is null, "The SQLite schema script is stale; run bash scripts/ef-compiled-models.sh. " + stale);
    }

    [Fact]
    public async Task FreshDatabase_GetsTheSchemaMigrateAsyncCreates_FromTheScript()
    {
        var directory = Directory.CreateTempSubdirectory("mss-schema-").FullName;
        try
        {
            var (scripted, migrated, scriptUsed) = await SqliteSchemaScriptCheck.CreateBothAsync(Create, "__EFMigrationsHistory", directory);

            Assert.True(scriptUsed, "MigrateIfBehindAsync fell back to MigrateAsync on a fresh database.");
            Assert.Equal(migrated, scripted);
            Assert.Contains(scripted, r => r.StartsWith("table workflow_instances ", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
