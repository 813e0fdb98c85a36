using ModelServeShim.Testing.Postgres;

namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary>The <c>State</c> settings that put a host's state in a new database of the test process's PostgreSQL cluster.</summary>
public static class PostgresState
{
    /// <summary>Creates a database named after <paramref name="prefix"/> and returns the settings that select it (password through <c>State:Password</c>).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> NewDatabase(string prefix)
    {
        var cluster = PostgresCluster.Shared;
        return
        [
            new("State:Provider", "postgres"),
            new("State:ConnectionString", cluster.CreateDatabase(prefix)),
            new("State:Password", cluster.Password),
        ];
    }
}
