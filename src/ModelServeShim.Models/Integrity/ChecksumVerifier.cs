using System.Security.Cryptography;

namespace ModelServeShim.Models.Integrity;

/// <summary>Outcome for one manifest entry.</summary>
public enum ChecksumStatus
{
    Match,
    Mismatch,
    Missing,
}

/// <param name="Entry">The manifest line.</param>
/// <param name="FullPath">Where the file was looked for.</param>
/// <param name="Status">Match, mismatch or missing.</param>
/// <param name="ActualSha256">Digest computed from the file; null when missing.</param>
public sealed record ChecksumResult(ChecksumEntry Entry, string FullPath, ChecksumStatus Status, string? ActualSha256);

/// <summary>Every manifest entry's result, in manifest order.</summary>
public sealed record ChecksumReport(string ManifestPath, IReadOnlyList<ChecksumResult> Results)
{
    public bool AllMatch => Results.All(r => r.Status == ChecksumStatus.Match);

    public IReadOnlyList<ChecksumResult> Mismatches => [.. Results.Where(r => r.Status == ChecksumStatus.Mismatch)];

    public IReadOnlyList<ChecksumResult> Missing => [.. Results.Where(r => r.Status == ChecksumStatus.Missing)];
}

/// <summary>Verifies files against a sha256sum-style manifest, hashing several files at once.</summary>
public static class ChecksumVerifier
{
    /// <summary>
    /// Hashes every file named in <paramref name="manifestPath"/> (paths relative to <paramref name="baseDirectory"/>,
    /// default the manifest's directory) and reports matches, mismatches and missing files. Files are
    /// read in full, so this takes as long as reading the model once.
    /// </summary>
    /// <param name="manifestPath">The manifest file.</param>
    /// <param name="baseDirectory">Directory the manifest's paths are relative to; default the manifest's own directory.</param>
    /// <param name="maxParallelism">Files hashed at once; default 2 (hashing is I/O-bound on most disks).</param>
    /// <param name="cancellationToken">Stops hashing.</param>
    /// <exception cref="ModelFormatException">The manifest is missing (<see cref="ModelErrorCode.ModelNotFound"/>) or malformed (<see cref="ModelErrorCode.InvalidManifest"/>).</exception>
    public static async Task<ChecksumReport> VerifyAsync(string manifestPath, string? baseDirectory = null, int maxParallelism = 2, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(manifestPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxParallelism);
        string text;
        try
        {
            text = await File.ReadAllTextAsync(manifestPath, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, manifestPath, $"SHA-256 manifest '{manifestPath}' does not exist.", e);
        }

        var entries = ChecksumManifest.Parse(text, manifestPath);
        string root = Path.GetFullPath(baseDirectory ?? Path.GetDirectoryName(Path.GetFullPath(manifestPath))!);
        var results = new ChecksumResult[entries.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, entries.Count),
            new ParallelOptions { MaxDegreeOfParallelism = maxParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var entry = entries[i];
                string full = Path.Combine(root, entry.RelativePath.Replace('/', Path.DirectorySeparatorChar));
                FileStream stream;
                try
                {
                    stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    results[i] = new ChecksumResult(entry, full, ChecksumStatus.Missing, null);
                    return;
                }

                await using (stream)
                {
                    string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
                    results[i] = new ChecksumResult(entry, full, actual == entry.Sha256 ? ChecksumStatus.Match : ChecksumStatus.Mismatch, actual);
                }
            });
        return new ChecksumReport(manifestPath, results);
    }
}
