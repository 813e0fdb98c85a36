using Microsoft.Win32.SafeHandles;

namespace ModelServeShim.Models.Integrity;

/// <summary>
/// What identifies a file's content without reading it: size, modification and status-change times (nanoseconds since
/// the epoch), inode and device. A rewrite changes the size or the modification time; restoring the modification time
/// (<c>touch -d</c>) still changes the status-change time, which no user can set; replacing the file changes the inode.
/// </summary>
/// <param name="Size">Bytes.</param>
/// <param name="ModifiedNs">Modification time (<c>st_mtim</c>), nanoseconds since the Unix epoch.</param>
/// <param name="ChangedNs">Status-change time (<c>st_ctim</c>), nanoseconds since the Unix epoch; on systems without it, the modification time.</param>
/// <param name="Inode">The inode number; 0 where the system has none.</param>
/// <param name="Device">The device the inode is on; 0 where the system has none.</param>
public readonly record struct FileStamp(long Size, long ModifiedNs, long ChangedNs, ulong Inode, ulong Device)
{
    /// <summary>The stamp of an open file (read from the handle, so it describes exactly the file being read).</summary>
    public static FileStamp Of(SafeFileHandle handle, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (OperatingSystem.IsLinux())
        {
            return OfLinux(handle, path);
        }

        var info = new FileInfo(path);
        long modified = (info.LastWriteTimeUtc - DateTime.UnixEpoch).Ticks * 100;
        return new FileStamp(RandomAccess.GetLength(handle), modified, modified, 0, 0);
    }

    private static unsafe FileStamp OfLinux(SafeFileHandle handle, string path)
    {
        Tmds.Linux.stat st;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Tmds.Linux.LibC.fstat((int)handle.DangerousGetHandle(), &st) != 0)
            {
                throw new IOException($"fstat of '{path}' failed (errno {Tmds.Linux.LibC.errno}).");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return new FileStamp(
            (long)st.st_size,
            Nanoseconds((long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec),
            Nanoseconds((long)st.st_ctim.tv_sec, (long)st.st_ctim.tv_nsec),
            (ulong)st.st_ino,
            (ulong)st.st_dev);
    }

    private static long Nanoseconds(long seconds, long nanoseconds) => (seconds * 1_000_000_000) + nanoseconds;
}

/// <summary>
/// Remembers digests of files by path and <see cref="FileStamp"/>, so an unchanged file is not hashed again. The
/// verifier asks before hashing and stores what it computed; a stamp that differs from the stored one is a miss.
/// </summary>
public interface IChecksumCache
{
    /// <summary>The SHA-256 (lower-case hex) stored for <paramref name="path"/> with exactly <paramref name="stamp"/>, else null.</summary>
    ValueTask<string?> GetAsync(string path, FileStamp stamp, CancellationToken cancellationToken);

    /// <summary>Stores the digest of <paramref name="path"/> as it was at <paramref name="stamp"/> (replacing an older one).</summary>
    ValueTask SetAsync(string path, FileStamp stamp, string sha256, CancellationToken cancellationToken);
}
