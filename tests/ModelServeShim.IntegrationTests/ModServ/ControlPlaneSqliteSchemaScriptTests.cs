using Microsoft.EntityFrameworkCore;
using ModelServeShim.ControlPlane;
using ModelServeShim.Testing.EfCore;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>The committed fresh-database script of <see cref="ControlPlaneDbContext"/> is current and creates what the migrations create.</summary>
public sealed class ControlPlaneSqliteSchemaScriptTests
{
    private static readonly string Committed = Path.Combine(CompiledModelCheck.RepositoryRoot(), "src", "ModelServeShim", "ControlPlane", "Migrations", "ControlPlaneDbContext.sqlite.sql");

    private static ControlPlaneDbContext Create(string path)
    {
        var builder = new DbContextOptionsBuilder<ControlPlaneDbContext>();
        ControlPlaneDbContext.UseSqlite(builder, path);
        return new ControlPlaneDbContext(builder.Options);
    }

    [Fact]
    public void Script_IsWhatTheMigrationsGenerate_ElseRunScriptsEfCompiledModels()
    {
        using var context = new ControlPlaneDesignTimeFactory().CreateDbContext([]);

        var stale = SqliteSchemaScriptCheck.Stale(context, Committed);

        Assert.True(stale is null, "The SQLite schema script is stale; run bash scripts/ef-compiled-models.sh. " + stale);
    }

    [Fact]
    public async Task FreshDatabase_GetsTheSchemaMigrateAsyncCreates_FromTheScript()
    {
        var directory = Directory.CreateTempSubdirectory("mss-schema-").FullName;
        try
        {
            var (scripted, migrated, scriptUsed) = await SqliteSchemaScriptCheck.CreateBothAsync(Create, ControlPlaneDbContext.HistoryTable, directory);

            Assert.True(scriptUsed, "MigrateIfBehindAsync fell back to MigrateAsync on a fresh database.");
            Assert.Equal(migrated, scripted);
            Assert.Contains(scripted, r => r.StartsWith("table model_services ", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
