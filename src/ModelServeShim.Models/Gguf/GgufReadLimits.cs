namespace ModelServeShim.Models.Gguf;

/// <summary>
/// Caps on lengths read from a GGUF header, so a hostile or corrupt file cannot make the reader allocate
/// gigabytes or loop for long. Every length is also checked against the bytes left in the file.
/// Defaults fit every published model with a wide margin (the largest vocabularies are ~260k tokens).
/// </summary>
public sealed record GgufReadLimits
{
    public static GgufReadLimits Default { get; } = new();

    /// <summary>Longest string (key, value or tensor name), in bytes. Default 16 MiB.</summary>
    public int MaxStringBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Most elements in one metadata array. Default 16 Mi.</summary>
    public int MaxArrayElements { get; init; } = 16 * 1024 * 1024;

    /// <summary>Deepest nesting of arrays inside arrays. Default 8.</summary>
    public int MaxArrayNesting { get; init; } = 8;

    /// <summary>Most metadata entries. Default 1 Mi.</summary>
    public int MaxMetadataEntries { get; init; } = 1024 * 1024;

    /// <summary>Most tensors. Default 1 Mi.</summary>
    public int MaxTensors { get; init; } = 1024 * 1024;
}
