using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Testing.EfCore;

/// <summary>
/// Checks a context's committed schema script for fresh SQLite databases (<c>MigrationExtensions.MigrateIfBehindAsync</c>):
/// that it is what EF Core's <c>migrations script --no-transactions</c> generates from the migrations now, and that the
/// database it creates is the one <c>MigrateAsync</c> creates (tables, indexes and their SQL, history rows).
/// </summary>
internal static class SqliteSchemaScriptCheck
{
    /// <summary>Null when the committed script is current; else the first line that differs.</summary>
    public static string? Stale(DbContext context, string committedPath)
    {
        var generated = Lines(context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.NoTransactions));
        var committed = Lines(File.ReadAllText(committedPath));
        for (var i = 0; i < Math.Max(generated.Count, committed.Count); i++)
        {
            var g = i < generated.Count ? generated[i] : "(end)";
            var c = i < committed.Count ? committed[i] : "(end)";
            if (g != c)
            {
                return $"{Path.GetFileName(committedPath)} line {i + 1}: committed '{c}', generated '{g}'";
            }
        }

        return null;
    }

    /// <summary>
    /// Creates the schema twice in <paramref name="directory"/>: through <c>MigrateIfBehindAsync</c> on a fresh file (the
    /// script) and through <c>MigrateAsync</c>; returns both schemas (<c>sqlite_master</c> and the history rows, EF Core's
    /// migration lock table aside) and whether the first left the lock table out, i.e. did not fall back to <c>MigrateAsync</c>.
    /// </summary>
    public static async Task<(IReadOnlyList<string> Scripted, IReadOnlyList<string> Migrated, bool ScriptUsed)> CreateBothAsync(
        Func<string, DbContext> create, string historyTable, string directory)
    {
        var scripted = Path.Combine(directory, "scripted.db");
        var migrated = Path.Combine(directory, "migrated.db");
        await using (var context = create(scripted))
        {
            await context.Database.MigrateIfBehindAsync(CancellationToken.None);
        }

        await using (var context = create(migrated))
        {
            await context.Database.MigrateAsync();
        }

        var a = Schema(scripted, historyTable);
        var b = Schema(migrated, historyTable);
        SqliteConnection.ClearAllPools();
        return (a.Schema, b.Schema, !a.HasLockTable && b.HasLockTable);
    }

    private static (IReadOnlyList<string> Schema, bool HasLockTable) Schema(string path, string historyTable)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        var rows = new List<string>();
        var hasLock = false;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var name = reader.GetString(1);
                if (name == "__EFMigrationsLock")
                {
                    hasLock = true;
                    continue;
                }

                rows.Add($"{reader.GetString(0)} {name} on {reader.GetString(2)}: {(reader.IsDBNull(3) ? "" : reader.GetString(3))}");
            }
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT \"MigrationId\", \"ProductVersion\" FROM \"{historyTable}\" ORDER BY \"MigrationId\"";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add($"history {reader.GetString(0)} {reader.GetString(1)}");
            }
        }

        return (rows, hasLock);
    }

    private static List<string> Lines(string text) =>
        [.. text.TrimStart('\uFEFF').ReplaceLineEndings("\n").TrimEnd().Split('\n').Select(l => l.TrimEnd())];
}
