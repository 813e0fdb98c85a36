using System.Globalization;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>Kubernetes resource quantities ("4", "500m", "16Gi", "512Mi", "1G", "1.5") as Docker's numbers.</summary>
public static class ResourceQuantities
{
    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40), ("Pi", 1L << 50), ("Ei", 1L << 60),
        ("n", 0.000000001m), ("u", 0.000001m), ("m", 0.001m),
        ("k", 1_000m), ("M", 1_000_000m), ("G", 1_000_000_000m), ("T", 1_000_000_000_000m), ("P", 1_000_000_000_000_000m), ("E", 1_000_000_000_000_000_000m),
    ];

    /// <summary>Parses a quantity into its value in base units; false when it is not one.</summary>
    public static bool TryParse(string? quantity, out decimal value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(quantity))
        {
            return false;
        }

        var text = quantity.Trim();
        var factor = 1m;
        foreach (var (suffix, f) in Suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                text = text[..^suffix.Length];
                factor = f;
                break;
            }
        }

        if (text.Length == 0 || text.Contains('e', StringComparison.OrdinalIgnoreCase)
            || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        try
        {
            value = number * factor;
        }
        catch (OverflowException)
        {
            return false;
        }

        return true;
    }

    /// <summary>CPUs as Docker's <c>NanoCPUs</c> (1 CPU = 10^9); 0 means no limit.</summary>
    public static long NanoCpus(string cpu) =>
        TryParse(cpu, out var cores) && cores * 1_000_000_000m <= long.MaxValue
            ? (long)decimal.Round(cores * 1_000_000_000m)
            : throw new FormatException($"'{cpu}' is not a CPU quantity (e.g. \"4\" or \"500m\").");

    /// <summary>Memory in bytes (Docker's <c>Memory</c>); 0 means no limit.</summary>
    public static long Bytes(string memory) =>
        TryParse(memory, out var bytes) && bytes <= long.MaxValue
            ? (long)decimal.Ceiling(bytes)
            : throw new FormatException($"'{memory}' is not a memory quantity (e.g. \"16Gi\" or \"512Mi\").");
}
