using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace ModelServeShim.Models.Tests.Safetensors;

/// <summary>A tensor to write: name, dtype and PyTorch-order shape.</summary>
internal sealed record TestTensor(string Name, string Dtype, params long[] Shape)
{
    public long Bytes => Shape.Aggregate(1L, (a, b) => a * b) * Dtype switch
    {
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I64" or "F64" => 8,
        _ => 1,
    };
}

/// <summary>Writes real safetensors files the way the Python library does (header padded to 8 bytes, tensors tiled in order). Data bytes are zeros.</summary>
internal static class SafetensorsTestFile
{
    public static async Task WriteAsync(string path, IEnumerable<TestTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var json = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            long offset = 0;
            foreach (var tensor in list)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.Dtype);
                writer.WriteStartArray("shape");
                foreach (long d in tensor.Shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + tensor.Bytes);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += tensor.Bytes;
            }

            writer.WriteEndObject();
        }

        await WriteRawAsync(path, json.ToArray(), list.Sum(t => t.Bytes));
    }

    /// <summary>Writes a length prefix, the header (space-padded to a multiple of 8) and <paramref name="dataBytes"/> zero bytes.</summary>
    public static async Task WriteRawAsync(string path, byte[] header, long dataBytes)
    {
        int padded = (header.Length + 7) / 8 * 8;
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        await using var file = File.Create(path);
        await file.WriteAsync(prefix);
        await file.WriteAsync(header);
        await file.WriteAsync(Encoding.ASCII.GetBytes(new string(' ', padded - header.Length)));
        file.SetLength(file.Position + dataBytes);
    }
}
