using System.Globalization;

namespace ModelServeShim.Models.Integrity;

/// <summary>One line of a sha256sum-style manifest.</summary>
/// <param name="Sha256">Lower-case hex digest (64 characters).</param>
/// <param name="RelativePath">Path relative to the manifest's directory, with '/' separators.</param>
public sealed record ChecksumEntry(string Sha256, string RelativePath);

/// <summary>
/// A SHA-256 manifest in <c>sha256sum</c> format: one <c>&lt;64 hex&gt;  &lt;relative path&gt;</c> per line
/// (a <c>*</c> before the path, binary mode, is accepted). Blank lines and lines starting with '#' are skipped.
/// </summary>
public static class ChecksumManifest
{
    /// <exception cref="ModelFormatException"><see cref="ModelErrorCode.InvalidManifest"/> for a malformed line or a path that is absolute or escapes the directory.</exception>
    public static IReadOnlyList<ChecksumEntry> Parse(string text, string manifestPath)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<ChecksumEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string rawLine in text.Split('\n'))
        {
            lineNumber++;
            string line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.Length < 66 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') || !IsHex(line.AsSpan(0, 64)))
            {
                throw Invalid(manifestPath, lineNumber, "expected '<64 hex digits>  <relative path>' as written by sha256sum");
            }

            string relative = line[66..].Replace('\\', '/');
            if (relative.Length == 0 || relative.StartsWith('/') || Path.IsPathRooted(relative)
                || relative.Split('/').Any(part => part == ".."))
            {
                throw Invalid(manifestPath, lineNumber, $"path '{relative}' must be relative and stay inside the model directory");
            }

            if (!seen.Add(relative))
            {
                throw Invalid(manifestPath, lineNumber, $"'{relative}' is listed twice");
            }

            entries.Add(new ChecksumEntry(line[..64].ToLower(CultureInfo.InvariantCulture), relative));
        }

        return entries;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static ModelFormatException Invalid(string path, int line, string what) =>
        new(ModelErrorCode.InvalidManifest, path, $"SHA-256 manifest '{path}' line {line}: {what}. Regenerate it with 'sha256sum <files> > {Path.GetFileName(path)}' from the model directory.");
}
