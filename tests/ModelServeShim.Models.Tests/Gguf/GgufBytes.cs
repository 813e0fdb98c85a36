using System.Buffers.Binary;
using System.Text;

namespace ModelServeShim.Models.Tests.Gguf;

/// <summary>Hand-assembles GGUF bytes, for headers no honest writer would produce.</summary>
internal sealed class GgufBytes
{
    private readonly MemoryStream _stream = new();

    public GgufBytes U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _stream.Write(b);
        return this;
    }

    public GgufBytes U64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _stream.Write(b);
        return this;
    }

    public GgufBytes Str(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        U64((ulong)bytes.Length);
        _stream.Write(bytes);
        return this;
    }

    public GgufBytes Raw(byte[] bytes)
    {
        _stream.Write(bytes);
        return this;
    }

    /// <summary>Magic, version 3, the given counts.</summary>
    public static GgufBytes Header(ulong tensors, ulong metadata) =>
        new GgufBytes().U32(0x46554747).U32(3).U64(tensors).U64(metadata);

    public byte[] ToArray() => _stream.ToArray();

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, ToArray());
        return path;
    }
}
