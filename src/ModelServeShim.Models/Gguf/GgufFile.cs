namespace ModelServeShim.Models.Gguf;

/// <summary>The parsed header of a GGUF file (metadata and tensor directory); the weights are not read.</summary>
public sealed class GgufFile
{
    /// <summary>Default <c>general.alignment</c> when the file does not set one.</summary>
    public const uint DefaultAlignment = 32;

    internal GgufFile(
        string path,
        uint version,
        IReadOnlyList<KeyValuePair<string, GgufValue>> metadata,
        IReadOnlyList<GgufTensorInfo> tensors,
        uint alignment,
        long dataOffset,
        long fileLength)
    {
        Path = path;
        Version = version;
        MetadataInOrder = metadata;
        Metadata = metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
    }

    public string Path { get; }

    /// <summary>GGUF format version (2 or 3).</summary>
    public uint Version { get; }

    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> MetadataInOrder { get; }

    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Effective <c>general.alignment</c>.</summary>
    public uint Alignment { get; }

    /// <summary>Absolute file offset where the tensor data section starts.</summary>
    public long DataOffset { get; }

    public long FileLength { get; }

    /// <summary>Sum of every tensor's byte size.</summary>
    public long TensorBytes => Tensors.Sum(t => t.ByteSize);

    /// <summary>Sum of every tensor's element count.</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary><c>general.architecture</c>, or null when absent.</summary>
    public string? Architecture => GetString("general.architecture");

    public string? GetString(string key) => Metadata.TryGetValue(key, out var v) ? v.AsString() : null;

    /// <summary>An integer metadata value; null when absent or not an integer.</summary>
    public long? GetInteger(string key) => Metadata.TryGetValue(key, out var v) ? v.AsInt64() : null;

    /// <summary>
    /// An integer value, or the largest element of an integer array (some architectures store per-layer
    /// head counts as arrays); null when absent.
    /// </summary>
    public long? GetIntegerOrMax(string key)
    {
        if (!Metadata.TryGetValue(key, out var v))
        {
            return null;
        }

        if (v.AsArray()?.AsInt64s() is { Length: > 0 } values)
        {
            return values.Max();
        }

        return v.AsInt64();
    }
}
