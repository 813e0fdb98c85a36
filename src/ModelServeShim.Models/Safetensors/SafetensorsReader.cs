using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace ModelServeShim.Models.Safetensors;

/// <summary>
/// Reads safetensors headers: an 8-byte little-endian header length, a JSON header, then a byte buffer
/// that the tensors must tile exactly. Only the header is read.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>Largest accepted JSON header (100 MB; the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">The file is missing, malformed or truncated; see <see cref="ModelFormatException.ErrorCode"/>.</exception>
    public static async Task<SafetensorsFile> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, path, $"safetensors file '{path}' does not exist. Check that the model was downloaded completely.", e);
        }

        using (handle)
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
            {
                throw new ModelFormatException(ModelErrorCode.TruncatedFile, path, $"'{path}' is {fileLength} bytes long, too short to hold a safetensors header length. The download was probably interrupted: fetch it again.");
            }

            var prefix = new byte[8];
            await RandomAccess.ReadAsync(handle, prefix, 0, cancellationToken);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderBytes || headerLength < 2)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"'{path}' declares a {headerLength}-byte JSON header; safetensors headers are 2 to {MaxHeaderBytes} bytes. The file is corrupt or not a safetensors file.");
            }

            if (8 + (long)headerLength > fileLength)
            {
                throw new ModelFormatException(ModelErrorCode.TruncatedFile, path, $"'{path}' is truncated: its header alone needs {8 + (long)headerLength} bytes but the file is {fileLength} bytes long. Fetch the file again.");
            }

            var header = new byte[headerLength];
            int read = 0;
            while (read < header.Length)
            {
                int n = await RandomAccess.ReadAsync(handle, header.AsMemory(read), 8 + read, cancellationToken);
                if (n == 0)
                {
                    throw new ModelFormatException(ModelErrorCode.TruncatedFile, path, $"'{path}' ended while reading its header. Fetch the file again.");
                }

                read += n;
            }

            return Parse(path, header, fileLength);
        }
    }

    internal static SafetensorsFile Parse(string path, byte[] header, long fileLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"the header is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, "the header is not a JSON object");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw Invalid(path, $"key '{property.Name}' appears twice");
                }

                if (property.Name == MetadataKey)
                {
                    ReadMetadata(path, property.Value, metadata);
                }
                else
                {
                    tensors.Add(ReadTensor(path, property.Name, property.Value));
                }
            }

            tensors.Sort((a, b) => a.DataStart != b.DataStart ? a.DataStart.CompareTo(b.DataStart) : a.DataEnd.CompareTo(b.DataEnd));
            long expectedStart = 0;
            foreach (var tensor in tensors)
            {
                if (tensor.DataStart != expectedStart)
                {
                    throw Invalid(path, tensor.DataStart > expectedStart
                        ? $"tensor '{tensor.Name}' starts at {tensor.DataStart} but the previous tensor ends at {expectedStart} (a gap)"
                        : $"tensor '{tensor.Name}' starts at {tensor.DataStart}, inside the previous tensor which ends at {expectedStart} (an overlap)");
                }

                expectedStart = tensor.DataEnd;
            }

            long dataOffset = 8 + header.Length;
            long expectedLength = checked(dataOffset + expectedStart);
            if (fileLength < expectedLength)
            {
                long available = fileLength - dataOffset;
                var first = tensors.First(t => t.DataEnd > available);
                throw new ModelFormatException(
                    ModelErrorCode.TruncatedFile,
                    path,
                    $"'{path}' is truncated: tensor '{first.Name}' needs bytes {dataOffset + first.DataStart}..{dataOffset + first.DataEnd} but the file is {fileLength} bytes long; {expectedLength - fileLength} bytes are missing in total. The download or copy was probably interrupted: fetch the file again and compare its SHA-256.")
                {
                    TensorName = first.Name,
                };
            }

            if (fileLength > expectedLength)
            {
                throw Invalid(path, $"the file is {fileLength} bytes but header and tensors account for {expectedLength}; {fileLength - expectedLength} trailing bytes");
            }

            return new SafetensorsFile(path, header.Length, metadata, tensors, fileLength);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, $"{MetadataKey} is not an object");
        }

        foreach (var entry in value.EnumerateObject())
        {
            metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String
                ? entry.Value.GetString()!
                : throw Invalid(path, $"{MetadataKey}.{entry.Name} is not a string");
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
        {
            throw Invalid(path, $"tensor '{name}' needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end])", tensor: name);
        }

        string dtype = dtypeElement.GetString()!;
        if (!SafetensorsDtype.TryGetBits(dtype, out int bits))
        {
            throw Invalid(path, $"tensor '{name}' has dtype '{dtype}', which is not a safetensors dtype ({string.Join(", ", SafetensorsDtype.Known)})", tensor: name);
        }

        var shape = new List<long>();
        long elements = 1;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
            {
                throw Invalid(path, $"tensor '{name}' has a shape entry that is not a non-negative integer", tensor: name);
            }

            shape.Add(d);
            elements = MultiplyOrThrow(path, name, elements, d);
        }

        long begin = ReadOffset(path, name, offsetsElement[0]);
        long end = ReadOffset(path, name, offsetsElement[1]);
        long bitCount = MultiplyOrThrow(path, name, elements, bits);
        if (bitCount % 8 != 0)
        {
            throw Invalid(path, $"tensor '{name}' has {elements} elements of {bits}-bit {dtype}, which is not a whole number of bytes", tensor: name);
        }

        if (end < begin || end - begin != bitCount / 8)
        {
            throw Invalid(path, $"tensor '{name}' ({dtype} [{string.Join(", ", shape)}]) needs {bitCount / 8} bytes but data_offsets [{begin}, {end}] span {end - begin}", tensor: name);
        }

        return new SafetensorsTensorInfo(name, dtype, shape, begin, end, elements);
    }

    private static long ReadOffset(string path, string name, JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long value) && value >= 0
            ? value
            : throw Invalid(path, $"tensor '{name}' has a data offset that is not a non-negative integer", tensor: name);

    private static long MultiplyOrThrow(string path, string name, long a, long b)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException e)
        {
            throw Invalid(path, $"tensor '{name}' is larger than any possible file", e, name);
        }
    }

    private static ModelFormatException Invalid(string path, string what, Exception? inner = null, string? tensor = null)
    {
        string message = $"'{path}' has an invalid safetensors header: {what}. The file is corrupt or was not written by a safetensors library; download or convert it again.";
        return inner is null
            ? new ModelFormatException(ModelErrorCode.InvalidHeader, path, message) { TensorName = tensor }
            : new ModelFormatException(ModelErrorCode.InvalidHeader, path, message, inner) { TensorName = tensor };
    }
}
