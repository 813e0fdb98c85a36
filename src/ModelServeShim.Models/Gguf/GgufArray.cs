namespace ModelServeShim.Models.Gguf;

/// <summary>
/// A GGUF metadata array. <see cref="Items"/> is a typed CLR array matching <see cref="ElementType"/>:
/// <c>byte[]</c>, <c>sbyte[]</c>, <c>ushort[]</c>, <c>short[]</c>, <c>uint[]</c>, <c>int[]</c>, <c>float[]</c>,
/// <c>bool[]</c>, <c>string[]</c>, <c>ulong[]</c>, <c>long[]</c>, <c>double[]</c>, or <c>GgufArray[]</c> for nested arrays.
/// </summary>
public sealed class GgufArray
{
    private static readonly Dictionary<Type, GgufValueType> ElementTypes = new()
    {
        [typeof(byte)] = GgufValueType.UInt8,
        [typeof(sbyte)] = GgufValueType.Int8,
        [typeof(ushort)] = GgufValueType.UInt16,
        [typeof(short)] = GgufValueType.Int16,
        [typeof(uint)] = GgufValueType.UInt32,
        [typeof(int)] = GgufValueType.Int32,
        [typeof(float)] = GgufValueType.Float32,
        [typeof(bool)] = GgufValueType.Bool,
        [typeof(string)] = GgufValueType.String,
        [typeof(ulong)] = GgufValueType.UInt64,
        [typeof(long)] = GgufValueType.Int64,
        [typeof(double)] = GgufValueType.Float64,
        [typeof(GgufArray)] = GgufValueType.Array,
    };

    /// <summary>Wraps a typed array; the element type is taken from the CLR element type.</summary>
    public GgufArray(Array items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var clrType = items.GetType().GetElementType();
        if (items.Rank != 1 || clrType is null || !ElementTypes.TryGetValue(clrType, out var elementType))
        {
            throw new ArgumentException($"GGUF arrays hold one-dimensional arrays of a GGUF value type, not {items.GetType()}.", nameof(items));
        }

        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }

    public Array Items { get; }

    public int Count => Items.Length;

    /// <summary>The items as <typeparamref name="T"/>[], or null when the element type differs.</summary>
    public T[]? As<T>() => Items as T[];

    /// <summary>Integer items widened to <see cref="long"/>; null for non-integer arrays.</summary>
    public long[]? AsInt64s() => Items switch
    {
        byte[] a => [.. a.Select(v => (long)v)],
        sbyte[] a => [.. a.Select(v => (long)v)],
        ushort[] a => [.. a.Select(v => (long)v)],
        short[] a => [.. a.Select(v => (long)v)],
        uint[] a => [.. a.Select(v => (long)v)],
        int[] a => [.. a.Select(v => (long)v)],
        long[] a => a,
        ulong[] a when a.All(v => v <= long.MaxValue) => [.. a.Select(v => (long)v)],
        _ => null,
    };
}
