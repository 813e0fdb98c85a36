using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>
/// Parses durations as written in definitions: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>,
/// combinations such as <c>1m30s</c>, ISO 8601 (<c>PT1M30S</c>) and <c>hh:mm:ss</c>.
/// </summary>
public static partial class Durations
{
    /// <summary>The accepted forms, for error messages.</summary>
    public const string Help = "use a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\", \"PT1M\" or \"00:01:00\"";

    [GeneratedRegex(@"^(?:(?<d>\d+)d)?(?:(?<h>\d+)h)?(?:(?<m>\d+)m(?!s))?(?:(?<s>\d+(?:\.\d+)?)s)?(?:(?<ms>\d+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Compact();

    /// <summary>Parses <paramref name="text"/>; false when it is not a non-negative duration.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var match = Compact().Match(text);
        if (match.Success && text.Length > 0)
        {
            try
            {
                value = TimeSpan.FromDays(Num(match, "d"))
                    + TimeSpan.FromHours(Num(match, "h"))
                    + TimeSpan.FromMinutes(Num(match, "m"))
                    + TimeSpan.FromSeconds(Num(match, "s"))
                    + TimeSpan.FromMilliseconds(Num(match, "ms"));
                return true;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        if (text.StartsWith('P'))
        {
            try
            {
                value = XmlConvert.ToTimeSpan(text);
                return value >= TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        return TimeSpan.TryParseExact(text, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out value)
            || TimeSpan.TryParseExact(text, @"hh\:mm\:ss\.FFFFFFF", CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Formats a duration compactly (<c>1m30s</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.FromSeconds(1))
        {
            return $"{(long)value.TotalMilliseconds}ms";
        }

        var parts = new List<string>();
        if (value.Days > 0) parts.Add($"{value.Days}d");
        if (value.Hours > 0) parts.Add($"{value.Hours}h");
        if (value.Minutes > 0) parts.Add($"{value.Minutes}m");
        if (value.Seconds > 0 || value.Milliseconds > 0)
        {
            parts.Add(value.Milliseconds > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{value.Seconds + (value.Milliseconds / 1000.0)}s")
                : $"{value.Seconds}s");
        }

        return string.Concat(parts);
    }

    private static double Num(Match m, string group) =>
        m.Groups[group].Success ? double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
}
