using System.Globalization;

namespace ModelServeShim.Models.Gguf;

/// <summary>
/// One GGUF metadata value. Scalars are held as their CLR type (<see cref="byte"/>, <see cref="float"/>, …),
/// strings as <see cref="string"/>, arrays as <see cref="GgufArray"/>. Create values for the writer with the
/// static factories.
/// </summary>
public sealed class GgufValue
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    /// <summary>The value as its CLR type (see the class summary).</summary>
    public object Value { get; }

    public static GgufValue FromUInt8(byte value) => new(GgufValueType.UInt8, value);

    public static GgufValue FromInt8(sbyte value) => new(GgufValueType.Int8, value);

    public static GgufValue FromUInt16(ushort value) => new(GgufValueType.UInt16, value);

    public static GgufValue FromInt16(short value) => new(GgufValueType.Int16, value);

    public static GgufValue FromUInt32(uint value) => new(GgufValueType.UInt32, value);

    public static GgufValue FromInt32(int value) => new(GgufValueType.Int32, value);

    public static GgufValue FromFloat32(float value) => new(GgufValueType.Float32, value);

    public static GgufValue FromBool(bool value) => new(GgufValueType.Bool, value);

    public static GgufValue FromString(string value) => new(GgufValueType.String, value ?? throw new ArgumentNullException(nameof(value)));

    public static GgufValue FromUInt64(ulong value) => new(GgufValueType.UInt64, value);

    public static GgufValue FromInt64(long value) => new(GgufValueType.Int64, value);

    public static GgufValue FromFloat64(double value) => new(GgufValueType.Float64, value);

    public static GgufValue FromArray(GgufArray value) => new(GgufValueType.Array, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>True for the integer types (signed or not).</summary>
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    /// <summary>An integer value widened to <see cref="long"/>; null for non-integers or a UInt64 above <see cref="long.MaxValue"/>.</summary>
    public long? AsInt64() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => null,
    };

    /// <summary>A numeric value as <see cref="double"/>; null for strings, bools and arrays.</summary>
    public double? AsDouble() => Value switch
    {
        float v => v,
        double v => v,
        _ => AsInt64(),
    };

    public string? AsString() => Value as string;

    public bool? AsBool() => Value is bool b ? b : null;

    public GgufArray? AsArray() => Value as GgufArray;

    public override string ToString() => Value switch
    {
        string s => s,
        GgufArray a => $"[{a.ElementType} × {a.Count}]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Value.ToString() ?? string.Empty,
    };
}
