using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The default <see cref="IShimletProvider"/>: every <see cref="IShimlet"/> registered in dependency
/// injection, by name (case-insensitive). Registered only when the host has not registered its own
/// (e.g. one that also knows plugin shimlets).
/// </summary>
internal sealed class ServiceProviderShimletProvider : IShimletProvider
{
    private readonly Dictionary<string, IShimlet> _byName = new(StringComparer.OrdinalIgnoreCase);

    public ServiceProviderShimletProvider(IEnumerable<IShimlet> shimlets)
    {
        foreach (var shimlet in shimlets)
        {
            // The last registration of a name wins, as with dependency injection itself.
            _byName[shimlet.Name] = shimlet;
        }

        Names = [.. _byName.Keys.Order(StringComparer.Ordinal)];
    }

    public IReadOnlyList<string> Names { get; }

    public IShimlet? Find(string name) => _byName.GetValueOrDefault(name);
}
