namespace ModelServeShim.Models.Safetensors;

/// <summary>One tensor in a safetensors header.</summary>
/// <param name="Name">Tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Dtype">dtype as written in the file, e.g. <c>BF16</c>.</param>
/// <param name="Shape">Shape, outermost first (PyTorch order).</param>
/// <param name="DataStart">Start of the data, relative to the byte buffer after the header.</param>
/// <param name="DataEnd">End (exclusive) of the data, relative to the byte buffer.</param>
/// <param name="ElementCount">Product of the shape.</param>
public sealed record SafetensorsTensorInfo(
    string Name,
    string Dtype,
    IReadOnlyList<long> Shape,
    long DataStart,
    long DataEnd,
    long ElementCount)
{
    public long ByteSize => DataEnd - DataStart;
}
