namespace ModelServeShim.Models.Safetensors;

/// <summary>The parsed header of one <c>.safetensors</c> file; tensor data is not read.</summary>
public sealed class SafetensorsFile
{
    internal SafetensorsFile(string path, long headerLength, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensorInfo> tensors, long fileLength)
    {
        Path = path;
        HeaderLength = headerLength;
        Metadata = metadata;
        Tensors = tensors;
        FileLength = fileLength;
    }

    public string Path { get; }

    /// <summary>Length of the JSON header (the 8-byte length prefix not included).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute offset of the tensor byte buffer: 8 + <see cref="HeaderLength"/>.</summary>
    public long DataOffset => 8 + HeaderLength;

    /// <summary>The header's <c>__metadata__</c> (string to string), empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensors in data order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    public long FileLength { get; }

    public long TensorBytes => Tensors.Sum(t => t.ByteSize);

    public long ParameterCount => Tensors.Sum(t => t.ElementCount);
}
