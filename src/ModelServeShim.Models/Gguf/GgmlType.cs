namespace ModelServeShim.Models.Gguf;

/// <summary>ggml tensor element types, numbered as in ggml.h (the ids are what GGUF files store).</summary>
#pragma warning disable CA1707 // Names mirror ggml's (Q4_K, IQ2_XXS) so they can be searched for.
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}
#pragma warning restore CA1707

/// <summary>Block layout of a ggml type: how many elements one block holds and how many bytes it takes.</summary>
public readonly record struct GgmlTypeInfo(GgmlType Type, int BlockSize, int BytesPerBlock)
{
    public string Name => Type.ToString();
}

/// <summary>
/// Block sizes from ggml's type traits (ggml.c / ggml-common.h). A tensor's byte size is
/// <c>ne0 / BlockSize * BytesPerBlock * ne1 * ne2 * ne3</c>; ne0 must be a multiple of the block size.
/// Types removed from GGUF (Q4_2, Q4_3, the Q4_0_4_4 family) and types newer than this table are unknown.
/// </summary>
public static class GgmlTypeTable
{
    private const int QK_K = 256;

    private static readonly Dictionary<GgmlType, GgmlTypeInfo> Infos = new GgmlTypeInfo[]
    {
        new(GgmlType.F32, 1, 4),
        new(GgmlType.F16, 1, 2),
        new(GgmlType.Q4_0, 32, 2 + 16),
        new(GgmlType.Q4_1, 32, 2 + 2 + 16),
        new(GgmlType.Q5_0, 32, 2 + 4 + 16),
        new(GgmlType.Q5_1, 32, 2 + 2 + 4 + 16),
        new(GgmlType.Q8_0, 32, 2 + 32),
        new(GgmlType.Q8_1, 32, 2 + 2 + 32),
        new(GgmlType.Q2_K, QK_K, (QK_K / 16) + (QK_K / 4) + 2 + 2),
        new(GgmlType.Q3_K, QK_K, (QK_K / 8) + (QK_K / 4) + 12 + 2),
        new(GgmlType.Q4_K, QK_K, 2 + 2 + 12 + (QK_K / 2)),
        new(GgmlType.Q5_K, QK_K, 2 + 2 + 12 + (QK_K / 8) + (QK_K / 2)),
        new(GgmlType.Q6_K, QK_K, (QK_K / 2) + (QK_K / 4) + (QK_K / 16) + 2),
        new(GgmlType.Q8_K, QK_K, 4 + QK_K + (QK_K / 16 * 2)),
        new(GgmlType.IQ2_XXS, QK_K, 2 + (QK_K / 8 * 2)),
        new(GgmlType.IQ2_XS, QK_K, 2 + (QK_K / 8 * 2) + (QK_K / 32)),
        new(GgmlType.IQ3_XXS, QK_K, 2 + (3 * QK_K / 8)),
        new(GgmlType.IQ1_S, QK_K, 2 + (QK_K / 8) + (QK_K / 32 * 2)),
        new(GgmlType.IQ4_NL, 32, 2 + 16),
        new(GgmlType.IQ3_S, QK_K, 2 + (QK_K / 4) + (QK_K / 32) + (QK_K / 8) + (QK_K / 64)),
        new(GgmlType.IQ2_S, QK_K, 2 + (QK_K / 4) + (QK_K / 32) + (QK_K / 32)),
        new(GgmlType.IQ4_XS, QK_K, 2 + 2 + (QK_K / 64) + (QK_K / 2)),
        new(GgmlType.I8, 1, 1),
        new(GgmlType.I16, 1, 2),
        new(GgmlType.I32, 1, 4),
        new(GgmlType.I64, 1, 8),
        new(GgmlType.F64, 1, 8),
        new(GgmlType.IQ1_M, QK_K, (QK_K / 8) + (QK_K / 16) + (QK_K / 32)),
        new(GgmlType.BF16, 1, 2),
        new(GgmlType.TQ1_0, QK_K, ((QK_K - (4 * QK_K / 64)) / 5) + (QK_K / 64) + 2),
        new(GgmlType.TQ2_0, QK_K, (QK_K / 4) + 2),
        new(GgmlType.MXFP4, 32, 1 + 16),
    }.ToDictionary(i => i.Type);

    /// <summary>Every type this table can size.</summary>
    public static IReadOnlyCollection<GgmlTypeInfo> Known => Infos.Values;

    public static bool TryGet(uint typeId, out GgmlTypeInfo info) => Infos.TryGetValue((GgmlType)typeId, out info);

    public static GgmlTypeInfo Get(GgmlType type) =>
        Infos.TryGetValue(type, out var info)
            ? info
            : throw new ArgumentOutOfRangeException(nameof(type), type, "Not a ggml type this table knows.");

    /// <summary>Bytes taken by a tensor of this type and shape (ggml order: dims[0] is the innermost).</summary>
    /// <exception cref="ArgumentException">dims[0] is not a multiple of the block size.</exception>
    /// <exception cref="OverflowException">The size does not fit in 64 bits.</exception>
    public static long ByteSize(GgmlType type, IReadOnlyList<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var info = Get(type);
        if (dims.Count == 0)
        {
            return info.BlockSize == 1 ? info.BytesPerBlock : throw new ArgumentException($"A scalar cannot be stored as block type {type}.", nameof(dims));
        }

        if (dims[0] % info.BlockSize != 0)
        {
            throw new ArgumentException($"Row length {dims[0]} is not a multiple of {type}'s block size {info.BlockSize}.", nameof(dims));
        }

        long bytes = checked(dims[0] / info.BlockSize * info.BytesPerBlock);
        for (int i = 1; i < dims.Count; i++)
        {
            bytes = checked(bytes * dims[i]);
        }

        return bytes;
    }

    /// <summary>Name used by llama.cpp for a <c>general.file_type</c> (llama_ftype) value, or null when unknown.</summary>
    public static string? FileTypeName(uint fileType) => fileType switch
    {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => null,
    };
}
