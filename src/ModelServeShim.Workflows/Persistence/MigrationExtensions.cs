using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>Schema migration at start.</summary>
public static class MigrationExtensions
{
    /// <summary>
    /// Applies the pending migrations, and does nothing more than read the history table when there are none: a full
    /// <see cref="RelationalDatabaseFacadeExtensions.MigrateAsync(DatabaseFacade, CancellationToken)"/> also takes the
    /// migration lock, builds the migrations snapshot's model and compares it with the context's, which at every start
    /// of an up-to-date database (docs/benchmarks.md, "One binary"). Up to date means every migration of this build is in
    /// the history; concurrent starts on a database that is behind still meet in <c>MigrateAsync</c>'s lock.
    /// </summary>
    /// <returns>Whether migrations were run.</returns>
    public static async Task<bool> MigrateIfBehindAsync(this DatabaseFacade database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var applied = (await database.GetAppliedMigrationsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        if (database.GetMigrations().All(applied.Contains))
        {
            return false;
        }

        await database.MigrateAsync(cancellationToken);
        return true;
    }
}
