namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary><see cref="ShimFactory"/> with the state in its own database of the test process's PostgreSQL cluster.</summary>
public sealed class PostgresShimFactory : ShimFactory
{
    private readonly IReadOnlyList<KeyValuePair<string, string>> _state = PostgresState.NewDatabase("shim");

    protected override IEnumerable<KeyValuePair<string, string>> Settings => _state;
}
