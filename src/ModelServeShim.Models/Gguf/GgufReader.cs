using System.Buffers.Binary;
using System.Text;

namespace ModelServeShim.Models.Gguf;

/// <summary>
/// Reads the header of a GGUF file (versions 2 and 3): metadata, tensor directory, alignment and the
/// start of the data section. Seeks and reads header bytes only; tensor data is never read, but every
/// tensor's byte range is checked against the file length.
/// </summary>
public static class GgufReader
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    private const int MaxDimensions = 4;

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">The file is missing, not GGUF, malformed or truncated; see <see cref="ModelFormatException.ErrorCode"/>.</exception>
    public static GgufFile Read(string path, GgufReadLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, path, $"GGUF file '{path}' does not exist. Check the path, or that the model was downloaded to the model root.", e);
        }

        using (stream)
        {
            return Read(stream, path, limits ?? GgufReadLimits.Default, cancellationToken);
        }
    }

    /// <summary>Reads and validates a GGUF header from a seekable stream positioned at the file start.</summary>
    /// <param name="stream">Readable, seekable stream; its length is the file length.</param>
    /// <param name="path">Name used in errors.</param>
    /// <param name="limits">Caps on lengths read from the header; <see cref="GgufReadLimits.Default"/> when null.</param>
    /// <param name="cancellationToken">Checked between metadata entries and tensors.</param>
    public static GgufFile Read(Stream stream, string path, GgufReadLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= GgufReadLimits.Default;
        var reader = new HeaderReader(stream, path, limits);

        uint magic = reader.ReadUInt32("magic");
        if (magic != Magic)
        {
            throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"'{path}' is not a GGUF file: it starts with 0x{magic:X8}, not \"GGUF\". Use a .gguf file produced by llama.cpp's convert scripts.");
        }

        uint version = reader.ReadUInt32("version");
        if (version is not (2 or 3))
        {
            string hint = BinaryPrimitives.ReverseEndianness(version) is 2 or 3
                ? "The file is big-endian; llama.cpp on x86/ARM needs a little-endian GGUF."
                : version == 1 ? "GGUF v1 predates August 2023; re-convert the model with a current llama.cpp." : "Supported versions are 2 and 3.";
            throw new ModelFormatException(ModelErrorCode.UnsupportedVersion, path, $"'{path}' is GGUF version {version}, which this reader does not support. {hint}");
        }

        ulong tensorCount = reader.ReadUInt64("tensor count");
        ulong metadataCount = reader.ReadUInt64("metadata count");
        // Smallest metadata entry: key length (8) + type (4) + a 1-byte value. Smallest tensor info: name length (8) + n_dims (4) + type (4) + offset (8).
        reader.CheckCount(metadataCount, limits.MaxMetadataEntries, 13, "metadata entries");
        reader.CheckCount(tensorCount, limits.MaxTensors, 24, "tensors");

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)metadataCount);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < metadataCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string key = reader.ReadString($"metadata key #{i}");
            if (!keys.Add(key))
            {
                throw reader.Invalid($"metadata key '{key}' appears twice");
            }

            var type = reader.ReadValueType($"metadata '{key}'");
            var value = reader.ReadValue(type, $"metadata '{key}'", depth: 0, cancellationToken);
            metadata.Add(new(key, value));
        }

        uint alignment = GgufFile.DefaultAlignment;
        if (metadata.FirstOrDefault(kv => kv.Key == "general.alignment").Value is { } alignmentValue)
        {
            if (alignmentValue.Value is not uint a || a == 0 || (a & (a - 1)) != 0)
            {
                throw reader.Invalid($"general.alignment must be a non-zero power of two stored as uint32, found {alignmentValue.Type} {alignmentValue}");
            }

            alignment = a;
        }

        var infos = new List<(string Name, long[] Dims, uint TypeId, ulong Offset)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = reader.ReadString($"tensor #{i} name");
            if (!names.Add(name))
            {
                throw reader.Invalid($"tensor '{name}' is described twice");
            }

            uint nDims = reader.ReadUInt32($"tensor '{name}' dimension count");
            if (nDims > MaxDimensions)
            {
                throw reader.Invalid($"tensor '{name}' has {nDims} dimensions; ggml supports at most {MaxDimensions}");
            }

            var dims = new long[nDims];
            for (int d = 0; d < nDims; d++)
            {
                ulong dim = reader.ReadUInt64($"tensor '{name}' dimension {d}");
                if (dim > long.MaxValue)
                {
                    throw reader.Invalid($"tensor '{name}' dimension {d} is {dim}, which is not a valid size");
                }

                dims[d] = (long)dim;
            }

            uint typeId = reader.ReadUInt32($"tensor '{name}' type");
            ulong offset = reader.ReadUInt64($"tensor '{name}' offset");
            infos.Add((name, dims, typeId, offset));
        }

        long dataOffset = AlignUp(reader.Position, alignment);
        long fileLength = reader.Length;
        var tensors = new List<GgufTensorInfo>(infos.Count);
        foreach (var (name, dims, typeId, offset) in infos)
        {
            tensors.Add(DescribeTensor(path, name, dims, typeId, offset, alignment));
        }

        CheckDataRanges(path, tensors, dataOffset, fileLength);
        return new GgufFile(path, version, metadata, tensors, alignment, dataOffset, fileLength);
    }

    internal static long AlignUp(long value, long alignment) => checked((value + alignment - 1) / alignment * alignment);

    private static GgufTensorInfo DescribeTensor(string path, string name, long[] dims, uint typeId, ulong offset, uint alignment)
    {
        if (!GgmlTypeTable.TryGet(typeId, out var info))
        {
            throw new ModelFormatException(
                ModelErrorCode.UnknownTensorType,
                path,
                $"Tensor '{name}' in '{path}' has ggml type id {typeId}, which this reader cannot size (known: {string.Join(", ", GgmlTypeTable.Known.Select(k => $"{k.Name}={(uint)k.Type}"))}). The file needs a newer reader or was written with a removed type; re-quantize with a current llama.cpp.")
            {
                TensorName = name,
            };
        }

        if (offset > long.MaxValue || offset % alignment != 0)
        {
            throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"Tensor '{name}' in '{path}' has data offset {offset}, which is not a multiple of the alignment {alignment}. The file is corrupt; convert it again.")
            {
                TensorName = name,
            };
        }

        long elements = 1;
        long bytes;
        try
        {
            foreach (long d in dims)
            {
                elements = checked(elements * d);
            }

            bytes = GgmlTypeTable.ByteSize(info.Type, dims);
        }
        catch (Exception e) when (e is OverflowException or ArgumentException)
        {
            throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"Tensor '{name}' in '{path}' has shape [{string.Join(", ", dims)}] of type {info.Name}, which has no valid byte size ({e.Message}). The file is corrupt; convert it again.", e)
            {
                TensorName = name,
            };
        }

        return new GgufTensorInfo(name, dims, info.Type, (long)offset, elements, bytes);
    }

    private static void CheckDataRanges(string path, List<GgufTensorInfo> tensors, long dataOffset, long fileLength)
    {
        GgufTensorInfo? previous = null;
        GgufTensorInfo? firstPastEnd = null;
        long lastEnd = dataOffset;
        foreach (var tensor in tensors.OrderBy(t => t.Offset))
        {
            long start;
            long end;
            try
            {
                start = checked(dataOffset + tensor.Offset);
                end = checked(start + tensor.ByteSize);
            }
            catch (OverflowException e)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"Tensor '{tensor.Name}' in '{path}' has an offset and size beyond any possible file. The file is corrupt; convert it again.", e) { TensorName = tensor.Name };
            }

            if (previous is not null && start < dataOffset + previous.Offset + previous.ByteSize)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidHeader, path, $"Tensors '{previous.Name}' and '{tensor.Name}' in '{path}' overlap. The file is corrupt; convert it again.") { TensorName = tensor.Name };
            }

            if (end > fileLength && firstPastEnd is null)
            {
                firstPastEnd = tensor;
            }

            lastEnd = Math.Max(lastEnd, end);
            previous = tensor;
        }

        if (firstPastEnd is not null)
        {
            long missing = lastEnd - fileLength;
            long tensorStart = dataOffset + firstPastEnd.Offset;
            throw new ModelFormatException(
                ModelErrorCode.TruncatedFile,
                path,
                $"'{path}' is truncated: tensor '{firstPastEnd.Name}' needs bytes {tensorStart}..{tensorStart + firstPastEnd.ByteSize} but the file is {fileLength} bytes long; {missing} bytes are missing in total. The download or copy was probably interrupted: fetch the file again and compare its SHA-256.")
            {
                TensorName = firstPastEnd.Name,
            };
        }
    }

    /// <summary>Buffered little-endian reader that knows how many bytes are left and names what it was reading when it fails.</summary>
    private sealed class HeaderReader(Stream stream, string path, GgufReadLimits limits)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _bufferPos;
        private int _bufferLen;
        private long _bufferStart = stream.Position;

        public long Length { get; } = stream.Length;

        public long Position => _bufferStart + _bufferPos;

        private long Remaining => Length - Position;

        public ModelFormatException Invalid(string what) =>
            new(ModelErrorCode.InvalidHeader, path, $"'{path}' has an invalid GGUF header: {what} (at byte {Position}). The file is corrupt or not produced by llama.cpp; convert or download it again.");

        public void CheckCount(ulong count, int limit, long minBytesEach, string what)
        {
            if (count > (ulong)limit)
            {
                throw Invalid($"it declares {count} {what}, more than the limit of {limit}");
            }

            if ((long)count * minBytesEach > Remaining)
            {
                // A plausible count with too few bytes behind it: the file was cut short (or lies; either way it is unusable).
                throw new ModelFormatException(ModelErrorCode.TruncatedFile, path, $"'{path}' is truncated or corrupt inside its GGUF header: it declares {count} {what} (at least {(long)count * minBytesEach} bytes) but only {Remaining} bytes are left. Fetch the file again.");
            }
        }

        public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public GgufValueType ReadValueType(string what)
        {
            uint type = ReadUInt32(what + " type");
            return type <= (uint)GgufValueType.Float64
                ? (GgufValueType)type
                : throw Invalid($"{what} has value type {type}, which is not a GGUF type (0-12)");
        }

        public string ReadString(string what)
        {
            ulong length = ReadUInt64(what + " length");
            if (length > (ulong)limits.MaxStringBytes)
            {
                throw Invalid($"{what} claims to be {length} bytes long, more than the limit of {limits.MaxStringBytes}");
            }

            if ((long)length > Remaining)
            {
                throw Truncated(what);
            }

            int len = (int)length;
            if (len <= _buffer.Length)
            {
                return Encoding.UTF8.GetString(Take(len, what));
            }

            var bytes = new byte[len];
            ReadInto(bytes, what);
            return Encoding.UTF8.GetString(bytes);
        }

        public GgufValue ReadValue(GgufValueType type, string what, int depth, CancellationToken cancellationToken) => type switch
        {
            GgufValueType.UInt8 => GgufValue.FromUInt8(Take(1, what)[0]),
            GgufValueType.Int8 => GgufValue.FromInt8((sbyte)Take(1, what)[0]),
            GgufValueType.UInt16 => GgufValue.FromUInt16(BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what))),
            GgufValueType.Int16 => GgufValue.FromInt16(BinaryPrimitives.ReadInt16LittleEndian(Take(2, what))),
            GgufValueType.UInt32 => GgufValue.FromUInt32(ReadUInt32(what)),
            GgufValueType.Int32 => GgufValue.FromInt32(BinaryPrimitives.ReadInt32LittleEndian(Take(4, what))),
            GgufValueType.Float32 => GgufValue.FromFloat32(BinaryPrimitives.ReadSingleLittleEndian(Take(4, what))),
            GgufValueType.Bool => GgufValue.FromBool(Take(1, what)[0] != 0),
            GgufValueType.String => GgufValue.FromString(ReadString(what)),
            GgufValueType.UInt64 => GgufValue.FromUInt64(ReadUInt64(what)),
            GgufValueType.Int64 => GgufValue.FromInt64(BinaryPrimitives.ReadInt64LittleEndian(Take(8, what))),
            GgufValueType.Float64 => GgufValue.FromFloat64(BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what))),
            GgufValueType.Array => GgufValue.FromArray(ReadArray(what, depth + 1, cancellationToken)),
            _ => throw Invalid($"{what} has unknown value type {type}"),
        };

        private GgufArray ReadArray(string what, int depth, CancellationToken cancellationToken)
        {
            if (depth > limits.MaxArrayNesting)
            {
                throw Invalid($"{what} nests arrays more than {limits.MaxArrayNesting} deep");
            }

            var elementType = ReadValueType(what + " element");
            ulong count = ReadUInt64(what + " element count");
            int minSize = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.String or GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                _ => 12, // nested array: element type + count
            };
            CheckCount(count, limits.MaxArrayElements, minSize, $"elements in {what}");
            int n = (int)count;

            Array items = elementType switch
            {
                GgufValueType.UInt8 => Fill(new byte[n], i => Take(1, what)[0]),
                GgufValueType.Int8 => Fill(new sbyte[n], i => (sbyte)Take(1, what)[0]),
                GgufValueType.UInt16 => Fill(new ushort[n], i => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what))),
                GgufValueType.Int16 => Fill(new short[n], i => BinaryPrimitives.ReadInt16LittleEndian(Take(2, what))),
                GgufValueType.UInt32 => Fill(new uint[n], i => ReadUInt32(what)),
                GgufValueType.Int32 => Fill(new int[n], i => BinaryPrimitives.ReadInt32LittleEndian(Take(4, what))),
                GgufValueType.Float32 => Fill(new float[n], i => BinaryPrimitives.ReadSingleLittleEndian(Take(4, what))),
                GgufValueType.Bool => Fill(new bool[n], i => Take(1, what)[0] != 0),
                GgufValueType.String => Fill(new string[n], i => ReadString($"{what}[{i}]")),
                GgufValueType.UInt64 => Fill(new ulong[n], i => ReadUInt64(what)),
                GgufValueType.Int64 => Fill(new long[n], i => BinaryPrimitives.ReadInt64LittleEndian(Take(8, what))),
                GgufValueType.Float64 => Fill(new double[n], i => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what))),
                _ => Fill(new GgufArray[n], i =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return ReadArray($"{what}[{i}]", depth + 1, cancellationToken);
                }),
            };
            return new GgufArray(items);
        }

        private static T[] Fill<T>(T[] items, Func<int, T> read)
        {
            for (int i = 0; i < items.Length; i++)
            {
                items[i] = read(i);
            }

            return items;
        }

        private ReadOnlySpan<byte> Take(int count, string what)
        {
            if (_bufferLen - _bufferPos < count)
            {
                Refill(count, what);
            }

            var span = _buffer.AsSpan(_bufferPos, count);
            _bufferPos += count;
            return span;
        }

        private void ReadInto(byte[] destination, string what)
        {
            int copied = Math.Min(_bufferLen - _bufferPos, destination.Length);
            _buffer.AsSpan(_bufferPos, copied).CopyTo(destination);
            _bufferPos += copied;
            if (copied == destination.Length)
            {
                return;
            }

            _bufferStart += _bufferLen;
            _bufferPos = 0;
            _bufferLen = 0;
            int rest = destination.Length - copied;
            int read = stream.ReadAtLeast(destination.AsSpan(copied), rest, throwOnEndOfStream: false);
            _bufferStart += read;
            if (read < rest)
            {
                throw Truncated(what);
            }
        }

        private void Refill(int count, string what)
        {
            int left = _bufferLen - _bufferPos;
            Buffer.BlockCopy(_buffer, _bufferPos, _buffer, 0, left);
            _bufferStart += _bufferPos;
            _bufferPos = 0;
            _bufferLen = left;
            _bufferLen += stream.ReadAtLeast(_buffer.AsSpan(left), count - left, throwOnEndOfStream: false);
            if (_bufferLen < count)
            {
                throw Truncated(what);
            }
        }

        private ModelFormatException Truncated(string what) =>
            new(ModelErrorCode.TruncatedFile, path, $"'{path}' is truncated inside its GGUF header: it ends at byte {Length} while reading {what}. The download or copy was probably interrupted: fetch the file again.");
    }
}
