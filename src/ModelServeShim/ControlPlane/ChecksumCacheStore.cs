using Microsoft.EntityFrameworkCore;
using ModelServeShim.Models.Integrity;

namespace ModelServeShim.ControlPlane;

/// <summary>One remembered file digest (table <c>model_file_checksums</c>): the file's path and stamp when it was hashed.</summary>
public sealed class FileChecksumRecord
{
    /// <summary>The file's canonical path (the key: one digest per path, replaced when the file changes).</summary>
    public required string Path { get; set; }

    /// <summary>Bytes.</summary>
    public long Size { get; set; }

    /// <summary>Modification time, nanoseconds since the Unix epoch.</summary>
    public long ModifiedNs { get; set; }

    /// <summary>Status-change time, nanoseconds since the Unix epoch.</summary>
    public long ChangedNs { get; set; }

    /// <summary>The inode number (stored as its two's-complement 64-bit value).</summary>
    public long Inode { get; set; }

    /// <summary>The device number (stored as its two's-complement 64-bit value).</summary>
    public long Device { get; set; }

    /// <summary>The SHA-256, lower-case hex.</summary>
    public required string Sha256 { get; set; }

    /// <summary>When it was hashed.</summary>
    public DateTimeOffset HashedAt { get; set; }
}

/// <summary>
/// The checksum-verification step's <see cref="IChecksumCache"/>, in the control plane's state: a digest is answered
/// only for a file whose path, size, modification and change times, inode and device are all unchanged.
/// </summary>
public sealed class ChecksumCacheStore(IDbContextFactory<ControlPlaneDbContext> db, TimeProvider time) : IChecksumCache
{
    /// <inheritdoc />
    public async ValueTask<string?> GetAsync(string path, FileStamp stamp, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var record = await context.FileChecksums.AsNoTracking().FirstOrDefaultAsync(r => r.Path == path, cancellationToken);
        return record is not null && Stamp(record) == stamp ? record.Sha256 : null;
    }

    /// <inheritdoc />
    public async ValueTask SetAsync(string path, FileStamp stamp, string sha256, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var record = await context.FileChecksums.FirstOrDefaultAsync(r => r.Path == path, cancellationToken);
        if (record is null)
        {
            record = new FileChecksumRecord { Path = path, Sha256 = sha256 };
            context.FileChecksums.Add(record);
        }

        record.Size = stamp.Size;
        record.ModifiedNs = stamp.ModifiedNs;
        record.ChangedNs = stamp.ChangedNs;
        record.Inode = unchecked((long)stamp.Inode);
        record.Device = unchecked((long)stamp.Device);
        record.Sha256 = sha256;
        record.HashedAt = time.GetUtcNow();
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another step stored the same file at the same moment: its digest is as good as ours.
        }
    }

    private static FileStamp Stamp(FileChecksumRecord r) =>
        new(r.Size, r.ModifiedNs, r.ChangedNs, unchecked((ulong)r.Inode), unchecked((ulong)r.Device));
}
