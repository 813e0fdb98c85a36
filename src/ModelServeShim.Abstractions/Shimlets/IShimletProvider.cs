namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>Finds shimlets by name: the built-in ones and those that plugins bring.</summary>
public interface IShimletProvider
{
    /// <summary>The names of the available shimlets, sorted.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The shimlet with this name, or null.</summary>
    IShimlet? Find(string name);
}
