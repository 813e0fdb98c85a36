using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary><see cref="ModServFactory"/> with the state in its own database of the test process's PostgreSQL cluster.</summary>
public sealed class PostgresModServFactory : ModServFactory
{
    private readonly IReadOnlyList<KeyValuePair<string, string>> _state = PostgresState.NewDatabase("modserv");

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings => _state;
}
