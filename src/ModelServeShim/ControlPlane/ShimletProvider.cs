using System.Collections.Concurrent;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.ControlPlane;

/// <summary>The shimlets registered in dependency injection (built in) plus those plugins add at run time.</summary>
public sealed class ShimletProvider : IShimletProvider
{
    private readonly ConcurrentDictionary<string, IShimlet> _shimlets = new(StringComparer.Ordinal);

    /// <summary>Indexes the built-in shimlets.</summary>
    public ShimletProvider(IEnumerable<IShimlet> builtIn)
    {
        ArgumentNullException.ThrowIfNull(builtIn);
        foreach (var s in builtIn)
        {
            if (!_shimlets.TryAdd(s.Name, s))
            {
                throw new InvalidOperationException($"Two shimlets are named '{s.Name}'.");
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Names => [.. _shimlets.Keys.Order(StringComparer.Ordinal)];

    /// <inheritdoc />
    public IShimlet? Find(string name) => _shimlets.GetValueOrDefault(name);

    /// <summary>Adds or replaces a shimlet (plugin loading).</summary>
    public void Register(IShimlet shimlet)
    {
        ArgumentNullException.ThrowIfNull(shimlet);
        _shimlets[shimlet.Name] = shimlet;
    }

    /// <summary>Removes a shimlet (plugin unloading).</summary>
    public bool Remove(string name) => _shimlets.TryRemove(name, out _);
}
