using System.Buffers.Binary;
using System.Text;

namespace ModelServeShim.Models.Gguf;

/// <summary>
/// Writes GGUF version 3 files: metadata, tensor directory, then tensor data, each tensor aligned to
/// <see cref="Alignment"/>. Tensor data is held in memory, so this is for small files (samples, tests).
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<(string Name, long[] Dims, GgmlType Type, ReadOnlyMemory<byte> Data)> _tensors = [];

    /// <param name="alignment">Data alignment; written as <c>general.alignment</c> when not the default 32.</param>
    public GgufWriter(uint alignment = GgufFile.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a non-zero power of two.");
        }

        Alignment = alignment;
        if (alignment != GgufFile.DefaultAlignment)
        {
            _metadata.Add(new("general.alignment", GgufValue.FromUInt32(alignment)));
        }
    }

    public uint Alignment { get; }

    /// <summary>Adds a metadata entry (written in the order added).</summary>
    public GgufWriter AddMetadata(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == "general.alignment")
        {
            throw new ArgumentException("Set the alignment through the constructor.", nameof(key));
        }

        if (_metadata.Exists(kv => kv.Key == key))
        {
            throw new ArgumentException($"Metadata key '{key}' was already added.", nameof(key));
        }

        _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a tensor. <paramref name="dims"/> is in ggml order (innermost first); <paramref name="data"/> must be exactly the tensor's byte size.</summary>
    public GgufWriter AddTensor(string name, IReadOnlyList<long> dims, GgmlType type, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        if (_tensors.Exists(t => t.Name == name))
        {
            throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        }

        long expected = GgmlTypeTable.ByteSize(type, dims);
        if (data.Length != expected)
        {
            throw new ArgumentException($"Tensor '{name}' of type {type} and shape [{string.Join(", ", dims)}] needs {expected} bytes, got {data.Length}.", nameof(data));
        }

        _tensors.Add((name, [.. dims], type, data));
        return this;
    }

    /// <summary>Writes the file to <paramref name="destination"/>.</summary>
    public async Task WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var header = new MemoryStream();
        WriteHeader(header);
        long padding = GgufReader.AlignUp(header.Length, Alignment) - header.Length;
        header.Write(new byte[padding]);
        await destination.WriteAsync(header.GetBuffer().AsMemory(0, (int)header.Length), cancellationToken);

        long written = 0;
        foreach (var tensor in _tensors)
        {
            long pad = GgufReader.AlignUp(written, Alignment) - written;
            if (pad > 0)
            {
                await destination.WriteAsync(new byte[pad], cancellationToken);
                written += pad;
            }

            await destination.WriteAsync(tensor.Data, cancellationToken);
            written += tensor.Data.Length;
        }
    }

    private void WriteHeader(MemoryStream s)
    {
        void U32(uint v) => WriteValue(s, v);
        void U64(ulong v) => WriteValue(s, v);

        U32(GgufReader.Magic);
        U32(3);
        U64((ulong)_tensors.Count);
        U64((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(s, key);
            U32((uint)value.Type);
            WriteValue(s, value.Value);
        }

        long offset = 0;
        foreach (var (name, dims, type, data) in _tensors)
        {
            WriteString(s, name);
            U32((uint)dims.Length);
            foreach (long d in dims)
            {
                U64((ulong)d);
            }

            U32((uint)type);
            offset = GgufReader.AlignUp(offset, Alignment);
            U64((ulong)offset);
            offset += data.Length;
        }
    }

    private static void WriteString(Stream s, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)bytes.Length);
        s.Write(len);
        s.Write(bytes);
    }

    private static void WriteValue(Stream s, object value)
    {
        Span<byte> b = stackalloc byte[8];
        switch (value)
        {
            case byte v: s.WriteByte(v); break;
            case sbyte v: s.WriteByte((byte)v); break;
            case bool v: s.WriteByte(v ? (byte)1 : (byte)0); break;
            case ushort v: BinaryPrimitives.WriteUInt16LittleEndian(b, v); s.Write(b[..2]); break;
            case short v: BinaryPrimitives.WriteInt16LittleEndian(b, v); s.Write(b[..2]); break;
            case uint v: BinaryPrimitives.WriteUInt32LittleEndian(b, v); s.Write(b[..4]); break;
            case int v: BinaryPrimitives.WriteInt32LittleEndian(b, v); s.Write(b[..4]); break;
            case float v: BinaryPrimitives.WriteSingleLittleEndian(b, v); s.Write(b[..4]); break;
            case ulong v: BinaryPrimitives.WriteUInt64LittleEndian(b, v); s.Write(b); break;
            case long v: BinaryPrimitives.WriteInt64LittleEndian(b, v); s.Write(b); break;
            case double v: BinaryPrimitives.WriteDoubleLittleEndian(b, v); s.Write(b); break;
            case string v: WriteString(s, v); break;
            case GgufArray a:
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)a.ElementType);
                s.Write(b[..4]);
                BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)a.Count);
                s.Write(b);
                foreach (object? item in a.Items)
                {
                    WriteValue(s, item!);
                }

                break;
            default:
                throw new ArgumentException($"Cannot write a {value.GetType()} as a GGUF value.", nameof(value));
        }
    }
}
