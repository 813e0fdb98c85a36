using System.Collections.Concurrent;
using ModelServeShim.Models.Integrity;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>Roles by operator name, as a test sets them (the host reads them from its API keys).</summary>
public sealed class TestRequesterDirectory : IRequesterDirectory
{
    private readonly ConcurrentDictionary<string, string[]> _roles = new(StringComparer.Ordinal);

    public void Set(string name, params string[] roles) => _roles[name] = roles;

    public IReadOnlyList<string> RolesOf(string name) => _roles.TryGetValue(name, out var roles) ? roles : [];
}

/// <summary>Digests in memory, counting what was asked and answered (the host keeps them in its database).</summary>
public sealed class MemoryChecksumCache : IChecksumCache
{
    private readonly ConcurrentDictionary<string, (FileStamp Stamp, string Sha256)> _entries = new(StringComparer.Ordinal);

    public int Hits;

    public int Stores;

    public ValueTask<string?> GetAsync(string path, FileStamp stamp, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(path, out var entry) && entry.Stamp == stamp)
        {
            Interlocked.Increment(ref Hits);
            return ValueTask.FromResult<string?>(entry.Sha256);
        }

        return ValueTask.FromResult<string?>(null);
    }

    public ValueTask SetAsync(string path, FileStamp stamp, string sha256, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Stores);
        _entries[path] = (stamp, sha256);
        return ValueTask.CompletedTask;
    }
}
