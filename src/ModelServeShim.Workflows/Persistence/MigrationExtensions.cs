using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>Schema migration at start.</summary>
public static class MigrationExtensions
{
    /// <summary>
    /// Applies the pending migrations, and does nothing more than read the history table when there are none. A full
    /// <see cref="RelationalDatabaseFacadeExtensions.MigrateAsync(DatabaseFacade, CancellationToken)"/> also takes the
    /// migration lock, builds the migrations snapshot's model and compares it with the context's, and EF Core's own
    /// history reader builds a model of the history table first; at every start of an up-to-date database that was
    /// most of the migration step (docs/benchmarks.md, "One binary"). The history table is read with one plain command
    /// in the provider's quoting; when it cannot be read (a fresh database has none), <c>MigrateAsync</c> runs.
    /// Up to date means every migration of this build is in the history; concurrent starts on a database that is behind
    /// still meet in <c>MigrateAsync</c>'s lock.
    /// </summary>
    /// <returns>Whether migrations were run.</returns>
    public static async Task<bool> MigrateIfBehindAsync(this DatabaseFacade database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var applied = await ReadHistoryAsync(database, cancellationToken);
        if (applied is not null && database.GetMigrations().All(applied.Contains))
        {
            return false;
        }

        await database.MigrateAsync(cancellationToken);
        return true;
    }

    /// <summary>The migration ids in the history table, or null when it cannot be read.</summary>
    private static async Task<HashSet<string>?> ReadHistoryAsync(DatabaseFacade database, CancellationToken cancellationToken)
    {
        var options = RelationalOptionsExtension.Extract(database.GetService<IDbContextOptions>());
        var sql = database.GetService<ISqlGenerationHelper>();
        var table = sql.DelimitIdentifier(options.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName, options.MigrationsHistoryTableSchema);
        await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = database.GetDbConnection().CreateCommand();
            command.CommandText = $"SELECT {sql.DelimitIdentifier("MigrationId")} FROM {table}";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var ids = new HashSet<string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }
        catch (DbException)
        {
            return null;
        }
        finally
        {
            await database.CloseConnectionAsync();
        }
    }
}
