using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ModelServeShim.Models.Integrity;

/// <summary>Outcome for one manifest entry.</summary>
public enum ChecksumStatus
{
    /// <summary>The file's digest equals the manifest's.</summary>
    Match,

    /// <summary>The file's digest differs from the manifest's.</summary>
    Mismatch,

    /// <summary>The file does not exist.</summary>
    Missing,

    /// <summary>Not checked: verification stopped at an earlier mismatch (<see cref="ChecksumVerifierOptions.StopAtFirstMismatch"/>).</summary>
    NotChecked,
}

/// <param name="Entry">The manifest line.</param>
/// <param name="FullPath">Where the file was looked for.</param>
/// <param name="Status">Match, mismatch, missing or not checked.</param>
/// <param name="ActualSha256">Digest computed from the file (or remembered for it); null when missing or not checked.</param>
/// <param name="Bytes">The file's size; 0 when missing or not checked.</param>
/// <param name="Cached">True when the digest came from the <see cref="IChecksumCache"/> instead of reading the file.</param>
public sealed record ChecksumResult(ChecksumEntry Entry, string FullPath, ChecksumStatus Status, string? ActualSha256, long Bytes = 0, bool Cached = false);

/// <summary>Every manifest entry's result, in manifest order.</summary>
/// <param name="ManifestPath">Where the entries came from (a file, or a description of inline checksums).</param>
/// <param name="Results">One per entry, in the entries' order.</param>
public sealed record ChecksumReport(string ManifestPath, IReadOnlyList<ChecksumResult> Results)
{
    /// <summary>True when every entry matched.</summary>
    public bool AllMatch => Results.All(r => r.Status == ChecksumStatus.Match);

    /// <summary>The entries whose digest differs.</summary>
    public IReadOnlyList<ChecksumResult> Mismatches => [.. Results.Where(r => r.Status == ChecksumStatus.Mismatch)];

    /// <summary>The entries whose file does not exist.</summary>
    public IReadOnlyList<ChecksumResult> Missing => [.. Results.Where(r => r.Status == ChecksumStatus.Missing)];

    /// <summary>Bytes read and hashed (files answered by the cache count 0).</summary>
    public long HashedBytes => Results.Where(r => !r.Cached).Sum(r => r.Bytes);

    /// <summary>Entries whose digest came from the cache.</summary>
    public int CachedFiles => Results.Count(r => r.Cached);
}

/// <summary>How <see cref="ChecksumVerifier"/> reads and hashes.</summary>
public sealed record ChecksumVerifierOptions
{
    /// <summary>The default read size: large enough that a read costs little next to hashing it.</summary>
    public const int DefaultBufferSize = 4 * 1024 * 1024;

    /// <summary>Files hashed at once. Default: one per processor (SHA-256 is CPU-bound on page-cached or fast disks).</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Bytes per read; two buffers per file being hashed (one is read while the other is hashed). Default 4 MiB.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    /// <summary>Remembered digests by path and <see cref="FileStamp"/>; null hashes every file.</summary>
    public IChecksumCache? Cache { get; init; }

    /// <summary>
    /// Stop at the first mismatch (the files still being hashed are abandoned, later ones are <see cref="ChecksumStatus.NotChecked"/>).
    /// Default false: every entry is checked.
    /// </summary>
    public bool StopAtFirstMismatch { get; init; }
}

/// <summary>
/// Verifies files against a sha256sum-style manifest: several files at once (one per processor by default), each read
/// with large positional reads that overlap its hashing, and digests of unchanged files taken from an optional cache.
/// </summary>
public static class ChecksumVerifier
{
    /// <summary>
    /// Hashes every file named in <paramref name="manifestPath"/> (paths relative to <paramref name="baseDirectory"/>,
    /// default the manifest's directory) and reports matches, mismatches and missing files.
    /// </summary>
    /// <param name="manifestPath">The manifest file.</param>
    /// <param name="baseDirectory">Directory the manifest's paths are relative to; default the manifest's own directory.</param>
    /// <param name="maxParallelism">Files hashed at once.</param>
    /// <param name="cancellationToken">Stops hashing.</param>
    /// <exception cref="ModelFormatException">The manifest is missing (<see cref="ModelErrorCode.ModelNotFound"/>) or malformed (<see cref="ModelErrorCode.InvalidManifest"/>).</exception>
    public static Task<ChecksumReport> VerifyAsync(string manifestPath, string? baseDirectory = null, int maxParallelism = 2, CancellationToken cancellationToken = default) =>
        VerifyAsync(manifestPath, baseDirectory, new ChecksumVerifierOptions { MaxParallelism = maxParallelism }, cancellationToken);

    /// <summary>Reads and parses <paramref name="manifestPath"/>, then verifies its entries (see <see cref="VerifyEntriesAsync"/>).</summary>
    /// <exception cref="ModelFormatException">The manifest is missing (<see cref="ModelErrorCode.ModelNotFound"/>) or malformed (<see cref="ModelErrorCode.InvalidManifest"/>).</exception>
    public static async Task<ChecksumReport> VerifyAsync(string manifestPath, string? baseDirectory, ChecksumVerifierOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(manifestPath);
        var entries = await ReadManifestAsync(manifestPath, cancellationToken);
        string root = Path.GetFullPath(baseDirectory ?? Path.GetDirectoryName(Path.GetFullPath(manifestPath))!);
        return await VerifyEntriesAsync(entries, root, manifestPath, options, cancellationToken);
    }

    /// <summary>Reads and parses a manifest file.</summary>
    /// <exception cref="ModelFormatException">The manifest is missing (<see cref="ModelErrorCode.ModelNotFound"/>) or malformed (<see cref="ModelErrorCode.InvalidManifest"/>).</exception>
    public static async Task<IReadOnlyList<ChecksumEntry>> ReadManifestAsync(string manifestPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(manifestPath);
        string text;
        try
        {
            text = await File.ReadAllTextAsync(manifestPath, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, manifestPath, $"SHA-256 manifest '{manifestPath}' does not exist.", e);
        }

        return ChecksumManifest.Parse(text, manifestPath);
    }

    /// <summary>
    /// Verifies <paramref name="entries"/> (paths relative to <paramref name="baseDirectory"/>). Missing files are found
    /// before anything is hashed; the largest files start first so the parallel work ends together.
    /// </summary>
    /// <param name="entries">What to verify.</param>
    /// <param name="baseDirectory">The directory the entries' paths are relative to.</param>
    /// <param name="source">Where the entries came from, for the report.</param>
    /// <param name="options">Parallelism, buffer size, cache, fail-fast.</param>
    /// <param name="cancellationToken">Stops hashing.</param>
    public static async Task<ChecksumReport> VerifyEntriesAsync(
        IReadOnlyList<ChecksumEntry> entries, string baseDirectory, string source, ChecksumVerifierOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxParallelism);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BufferSize, 4096);

        string root = Path.GetFullPath(baseDirectory);
        var results = new ChecksumResult?[entries.Count];
        var work = new List<(int Index, string Path, long Size)>();
        for (int i = 0; i < entries.Count; i++)
        {
            string full = Path.Combine(root, entries[i].RelativePath.Replace('/', Path.DirectorySeparatorChar));
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                results[i] = new ChecksumResult(entries[i], full, ChecksumStatus.Missing, null);
            }
            else
            {
                work.Add((i, full, info.Length));
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await Parallel.ForEachAsync(
                work.OrderByDescending(w => w.Size),
                new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelism, CancellationToken = stop.Token },
                async (item, ct) =>
                {
                    var entry = entries[item.Index];
                    ChecksumResult result;
                    try
                    {
                        var (digest, bytes, cached) = await DigestAsync(item.Path, options, ct);
                        result = new ChecksumResult(entry, item.Path, digest == entry.Sha256 ? ChecksumStatus.Match : ChecksumStatus.Mismatch, digest, bytes, cached);
                    }
                    catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                    {
                        result = new ChecksumResult(entry, item.Path, ChecksumStatus.Missing, null); // Removed after the existence check.
                    }

                    results[item.Index] = result;
                    if (result.Status == ChecksumStatus.Mismatch && options.StopAtFirstMismatch)
                    {
                        await stop.CancelAsync();
                    }
                });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Stopped at the first mismatch: the report has it; what was not finished is NotChecked.
        }

        return new ChecksumReport(source, [.. results.Select((r, i) => r ?? new ChecksumResult(entries[i], Path.Combine(root, entries[i].RelativePath), ChecksumStatus.NotChecked, null))]);
    }

    /// <summary>
    /// The SHA-256 of one file (lower-case hex), from the cache when its stamp is unchanged, else by reading it: positional
    /// reads of <see cref="ChecksumVerifierOptions.BufferSize"/> into two buffers, the next read in flight while the
    /// current buffer is hashed. A file that changed while it was read is not remembered.
    /// </summary>
    /// <returns>The digest, the file's size, and whether the cache answered.</returns>
    public static async Task<(string Sha256, long Bytes, bool Cached)> DigestAsync(string path, ChecksumVerifierOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var before = FileStamp.Of(handle, path);
        if (options.Cache is { } cache && await cache.GetAsync(path, before, cancellationToken) is { } remembered)
        {
            return (remembered, before.Size, true);
        }

        string digest = await HashAsync(handle, options.BufferSize, cancellationToken);
        if (options.Cache is { } store && FileStamp.Of(handle, path) == before)
        {
            await store.SetAsync(path, before, digest, cancellationToken);
        }

        return (digest, before.Size, false);
    }

    private static async Task<string> HashAsync(SafeFileHandle handle, int bufferSize, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] current = GC.AllocateUninitializedArray<byte>(bufferSize);
        byte[] next = GC.AllocateUninitializedArray<byte>(bufferSize);
        long offset = 0;
        int read = await RandomAccess.ReadAsync(handle, current, offset, cancellationToken);
        while (read > 0)
        {
            offset += read;
            var pending = RandomAccess.ReadAsync(handle, next, offset, cancellationToken);
            sha.AppendData(current, 0, read);
            read = await pending;
            (current, next) = (next, current);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
