namespace ModelServeShim.Models.Gguf;

/// <summary>One tensor as described by a GGUF header.</summary>
/// <param name="Name">Tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Dimensions">Shape in ggml order: element 0 is the innermost (row) dimension.</param>
/// <param name="Type">Element type.</param>
/// <param name="Offset">Offset of the data relative to the start of the data section.</param>
/// <param name="ElementCount">Product of the dimensions.</param>
/// <param name="ByteSize">Bytes of data, from the ggml type table.</param>
public sealed record GgufTensorInfo(
    string Name,
    IReadOnlyList<long> Dimensions,
    GgmlType Type,
    long Offset,
    long ElementCount,
    long ByteSize);
