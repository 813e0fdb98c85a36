using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>The outcome of a save.</summary>
/// <param name="Record">The stored version.</param>
/// <param name="Created">False when the content equalled the latest version, which was kept.</param>
public sealed record SaveResult(DefinitionRecord Record, bool Created);

/// <summary>
/// Stores definition versions. Saving changed content creates a new version; saving the same content
/// again is a no-op. Running instances keep the version they started with. Compiled versions are cached.
/// </summary>
public sealed class DefinitionStore
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowCompiler _compiler;
    private readonly ActivityRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string, int), CompiledWorkflow> _compiled = new();
    private readonly ConcurrentDictionary<string, int> _latest = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _saveLock = new(1, 1);

    /// <summary>Creates the store.</summary>
    public DefinitionStore(IDbContextFactory<WorkflowDbContext> db, WorkflowCompiler compiler, ActivityRegistry registry, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _db = db;
        _compiler = compiler;
        _registry = registry;
        _time = time;
        registry.Changed += _compiled.Clear;
    }

    /// <summary>
    /// A definition version was stored (saved, imported, or loaded from a workflows file with changed content) or a
    /// definition was deleted: the definition id and the version (on a delete, the latest version). Raised after the
    /// change is committed; handlers must be quick and must not throw.
    /// </summary>
    public event Action<string, int>? Changed;

    /// <summary>Validates a definition without saving it.</summary>
    public IReadOnlyList<ValidationError> Validate(WorkflowDefinition definition) => new WorkflowValidator(_registry).Validate(definition);

    /// <summary>Validates and saves; a changed definition gets the next version.</summary>
    /// <exception cref="DefinitionInvalidException">It has errors; nothing was saved.</exception>
    public async Task<SaveResult> SaveAsync(WorkflowDefinition definition, string source, string user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = Validate(definition);
        if (errors.Count > 0)
        {
            throw new DefinitionInvalidException(definition.DefinitionId, errors);
        }

        var hash = Hash(definition);
        await _saveLock.WaitAsync(cancellationToken);
        try
        {
            await using var db = await _db.CreateDbContextAsync(cancellationToken);
            var latest = await db.Definitions.Where(d => d.DefinitionId == definition.DefinitionId)
                .OrderByDescending(d => d.Version).FirstOrDefaultAsync(cancellationToken);
            if (latest is { IsDeleted: false } && latest.ContentHash == hash)
            {
                return new SaveResult(latest, false);
            }

            var version = (latest?.Version ?? 0) + 1;
            var versioned = definition with { Version = version };
            await db.Definitions.Where(d => d.DefinitionId == definition.DefinitionId && d.IsLatest)
                .ExecuteUpdateAsync(u => u.SetProperty(d => d.IsLatest, false), cancellationToken);
            var record = new DefinitionRecord
            {
                DefinitionId = definition.DefinitionId,
                Version = version,
                Name = definition.Name,
                Description = definition.Description,
                Json = DefinitionJson.Serialize(versioned),
                ContentHash = hash,
                Source = source,
                CreatedBy = user,
                CreatedAt = _time.GetUtcNow(),
                IsLatest = true,
            };
            db.Definitions.Add(record);
            await db.SaveChangesAsync(cancellationToken);
            _latest[definition.DefinitionId] = version;
            Changed?.Invoke(definition.DefinitionId, version);
            return new SaveResult(record, true);
        }
        finally
        {
            _saveLock.Release();
        }
    }

    /// <summary>The latest (undeleted) version of every definition.</summary>
    public async Task<IReadOnlyList<DefinitionRecord>> ListLatestAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Definitions.AsNoTracking().Where(d => d.IsLatest && !d.IsDeleted).OrderBy(d => d.DefinitionId).ToListAsync(cancellationToken);
    }

    /// <summary>All versions of a definition, newest first.</summary>
    public async Task<IReadOnlyList<DefinitionRecord>> ListVersionsAsync(string definitionId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Definitions.AsNoTracking().Where(d => d.DefinitionId == definitionId)
            .OrderByDescending(d => d.Version).ToListAsync(cancellationToken);
    }

    /// <summary>A version (null: the latest undeleted one).</summary>
    public async Task<DefinitionRecord?> GetAsync(string definitionId, int? version, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var query = db.Definitions.AsNoTracking().Where(d => d.DefinitionId == definitionId);
        query = version is { } v ? query.Where(d => d.Version == v) : query.Where(d => d.IsLatest && !d.IsDeleted);
        return await query.FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>Marks a definition deleted: no new instances; running ones finish on their version.</summary>
    public async Task<bool> DeleteAsync(string definitionId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var latest = await db.Definitions.Where(d => d.DefinitionId == definitionId && !d.IsDeleted).MaxAsync(d => (int?)d.Version, cancellationToken);
        var n = await db.Definitions.Where(d => d.DefinitionId == definitionId && !d.IsDeleted)
            .ExecuteUpdateAsync(u => u.SetProperty(d => d.IsDeleted, true), cancellationToken);
        _latest.TryRemove(definitionId, out _);
        if (n > 0 && latest is { } version)
        {
            Changed?.Invoke(definitionId, version);
        }

        return n > 0;
    }

    /// <summary>The compiled form of a version (null: latest undeleted), cached.</summary>
    public async Task<CompiledWorkflow?> GetCompiledAsync(string definitionId, int? version, CancellationToken cancellationToken = default)
    {
        if (version is null && _latest.TryGetValue(definitionId, out var latest))
        {
            version = latest;
        }

        if (version is { } v && _compiled.TryGetValue((definitionId, v), out var cached))
        {
            return cached;
        }

        var record = await GetAsync(definitionId, version, cancellationToken);
        if (record is null)
        {
            return null;
        }

        var definition = JsonSerializer.Deserialize<WorkflowDefinition>(record.Json, DefinitionJson.Options)!;
        var compiled = _compiler.Compile(definition, record.Version);
        _compiled[(definitionId, record.Version)] = compiled;
        if (record.IsLatest && !record.IsDeleted)
        {
            _latest[definitionId] = record.Version;
        }

        return compiled;
    }

    private static string Hash(WorkflowDefinition definition) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(DefinitionJson.Serialize(definition with { Version = null }))));
}
