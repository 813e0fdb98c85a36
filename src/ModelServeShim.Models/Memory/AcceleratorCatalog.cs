namespace ModelServeShim.Models.Memory;

/// <summary>
/// Known accelerators by name. Lookup ignores case, spaces, dashes and underscores, and accepts the name
/// without its vendor prefix (<c>h100</c> finds <c>NVIDIA H100</c>) when that is unambiguous. Memory sizes
/// are decimal GB (10^9 bytes).
/// </summary>
public sealed class AcceleratorCatalog
{
    private readonly Dictionary<string, AcceleratorSpec> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<AcceleratorSpec>> _byShortKey = new(StringComparer.Ordinal);

    /// <summary>Builds a catalog from exactly these entries.</summary>
    /// <exception cref="ArgumentException">An entry has no name or memory, or two entries have the same name.</exception>
    public AcceleratorCatalog(IEnumerable<AcceleratorSpec> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<AcceleratorSpec>();
        foreach (var entry in entries)
        {
            if (entry is null || string.IsNullOrWhiteSpace(entry.Name) || !(entry.MemoryGb > 0))
            {
                throw new ArgumentException($"Accelerator entry '{entry?.Name}' needs a name and a positive MemoryGb.", nameof(entries));
            }

            if (!_byKey.TryAdd(Key(entry.Name), entry))
            {
                throw new ArgumentException($"Accelerator '{entry.Name}' is listed twice.", nameof(entries));
            }

            list.Add(entry);
            if (entry.Vendor is { Length: > 0 } vendor && Key(entry.Name).StartsWith(Key(vendor), StringComparison.Ordinal))
            {
                string shortKey = Key(entry.Name)[Key(vendor).Length..].Replace("GEFORCE", string.Empty, StringComparison.Ordinal);
                if (!_byShortKey.TryGetValue(shortKey, out var matches))
                {
                    _byShortKey[shortKey] = matches = [];
                }

                matches.Add(entry);
            }
        }

        Entries = list;
    }

    /// <summary>The built-in entries (decimal GB per device).</summary>
    public static IReadOnlyList<AcceleratorSpec> DefaultEntries =>
    [
        new("NVIDIA H20", 96, "NVIDIA"),
        new("NVIDIA H100", 80, "NVIDIA"),
        new("NVIDIA H200", 141, "NVIDIA"),
        new("NVIDIA A100 40GB", 40, "NVIDIA"),
        new("NVIDIA A100 80GB", 80, "NVIDIA"),
        new("NVIDIA L40S", 48, "NVIDIA"),
        new("NVIDIA L4", 24, "NVIDIA"),
        new("NVIDIA A10", 24, "NVIDIA"),
        new("NVIDIA GeForce RTX 4090", 24, "NVIDIA"),
    ];

    /// <summary>A catalog of <see cref="DefaultEntries"/>.</summary>
    public static AcceleratorCatalog Default { get; } = new(DefaultEntries);

    public IReadOnlyList<AcceleratorSpec> Entries { get; }

    /// <summary>The defaults plus <paramref name="additional"/>; an additional entry with a default's name replaces it.</summary>
    public static AcceleratorCatalog WithDefaults(IEnumerable<AcceleratorSpec>? additional)
    {
        var extra = additional?.ToList() ?? [];
        var extraKeys = extra.Select(e => Key(e.Name)).ToHashSet(StringComparer.Ordinal);
        return new AcceleratorCatalog(DefaultEntries.Where(d => !extraKeys.Contains(Key(d.Name))).Concat(extra));
    }

    public bool TryGet(string name, out AcceleratorSpec accelerator)
    {
        accelerator = null!;
        if (string.IsNullOrWhiteSpace(name))
        {
            return false;
        }

        string key = Key(name);
        if (_byKey.TryGetValue(key, out var found))
        {
            accelerator = found;
            return true;
        }

        if (_byShortKey.TryGetValue(key.Replace("GEFORCE", string.Empty, StringComparison.Ordinal), out var matches) && matches.Count == 1)
        {
            accelerator = matches[0];
            return true;
        }

        return false;
    }

    /// <exception cref="KeyNotFoundException">No such accelerator; the message lists the known names.</exception>
    public AcceleratorSpec Get(string name) =>
        TryGet(name, out var accelerator)
            ? accelerator
            : throw new KeyNotFoundException($"Unknown accelerator '{name}'. Known: {string.Join(", ", Entries.Select(e => e.Name))}. Add it to the accelerator catalog configuration with its memory in GB.");

    private static string Key(string name) =>
        string.Concat(name.Where(c => c is not (' ' or '-' or '_'))).ToUpperInvariant();
}
