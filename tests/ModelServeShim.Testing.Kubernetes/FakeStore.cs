using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ModelServeShim.Testing.Kubernetes;

/// <summary>One field manager identity: manager name, operation and subresource, as in managedFields.</summary>
internal sealed record FieldManagerKey(string Manager, string Operation, string Subresource);

/// <summary>A change, as a watch sees it.</summary>
internal sealed record StoredEvent(long ResourceVersion, FakeResource Resource, string Namespace, string Type, JsonObject Object);

/// <summary>The result of a write: HTTP status and body.</summary>
internal sealed record StoreResult(int StatusCode, JsonObject Body);

/// <summary>An open watch.</summary>
internal sealed class WatchSubscription(FakeResource resource, string ns, LabelSelector selector)
{
    public FakeResource Resource { get; } = resource;
    public string Namespace { get; } = ns;
    public LabelSelector Selector { get; } = selector;
    public Channel<JsonObject> Events { get; } = Channel.CreateUnbounded<JsonObject>();
    public CancellationTokenSource Drop { get; } = new();
}

/// <summary>
/// The fake's storage: objects as JSON, one global monotonic resourceVersion, an event history that can be
/// compacted (older watches then get 410 Expired), and server-side apply with per-manager field ownership.
/// </summary>
public sealed class FakeStore(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(FakeResource, string, string), JsonObject> _objects = [];
    private readonly Dictionary<(FakeResource, string, string), Dictionary<FieldManagerKey, (HashSet<string> Fields, DateTimeOffset Time)>> _owners = [];
    private readonly List<StoredEvent> _history = [];
    private readonly List<WatchSubscription> _watches = [];
    private long _resourceVersion = 100;
    private long _compactedThrough;
    private int _ipCounter = 10;

    /// <summary>Raised (outside the lock) after a workload was created, changed or deleted.</summary>
    public event Action<FakeResource, string, string>? WorkloadChanged;

    public long CurrentResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    public int OpenWatchCount
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    public JsonObject? Get(FakeResource resource, string ns, string name)
    {
        lock (_lock)
        {
            return _objects.TryGetValue((resource, ns, name), out var value) ? Render(resource, ns, name, value) : null;
        }
    }

    public (List<JsonObject> Items, long ResourceVersion) List(FakeResource resource, string ns, LabelSelector selector)
    {
        lock (_lock)
        {
            var items = _objects
                .Where(o => o.Key.Item1 == resource && o.Key.Item2 == ns && selector.Matches(o.Value))
                .OrderBy(o => o.Key.Item3, StringComparer.Ordinal)
                .Select(o => Render(resource, ns, o.Key.Item3, o.Value))
                .ToList();
            return (items, _resourceVersion);
        }
    }

    /// <summary>Opens a watch. Returns null when <paramref name="fromVersion"/> is older than the retained history.</summary>
    internal WatchSubscription? Watch(FakeResource resource, string ns, LabelSelector selector, long? fromVersion)
    {
        lock (_lock)
        {
            if (fromVersion is { } from && from < _compactedThrough)
            {
                return null;
            }

            var subscription = new WatchSubscription(resource, ns, selector);
            if (fromVersion is null or 0)
            {
                foreach (var item in _objects.Where(o => o.Key.Item1 == resource && o.Key.Item2 == ns && selector.Matches(o.Value)).OrderBy(o => o.Key.Item3, StringComparer.Ordinal))
                {
                    subscription.Events.Writer.TryWrite(WatchEvent("ADDED", Render(resource, ns, item.Key.Item3, item.Value)));
                }
            }
            else
            {
                foreach (var e in _history.Where(e => e.ResourceVersion > fromVersion && e.Resource == resource && e.Namespace == ns && selector.Matches(e.Object)))
                {
                    subscription.Events.Writer.TryWrite(WatchEvent(e.Type, (JsonObject)e.Object.DeepClone()));
                }
            }

            _watches.Add(subscription);
            return subscription;
        }
    }

    internal void Unwatch(WatchSubscription subscription)
    {
        lock (_lock)
        {
            _watches.Remove(subscription);
        }
    }

    /// <summary>Forgets the history: open watches get an ERROR 410 event and end, like etcd compaction.</summary>
    public void ExpireWatches()
    {
        lock (_lock)
        {
            _compactedThrough = _resourceVersion;
            _history.Clear();
            foreach (var watch in _watches)
            {
                var status = FakeStatus.Create(410, "Expired", $"too old resource version: {_resourceVersion - 1} ({_resourceVersion})");
                watch.Events.Writer.TryWrite(WatchEvent("ERROR", status));
                watch.Events.Writer.TryComplete();
            }
        }
    }

    /// <summary>Aborts the connection of every open watch.</summary>
    public void DropWatchConnections()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Drop.Cancel();
            }
        }
    }

    /// <summary>Server-side apply (PATCH application/apply-patch+yaml).</summary>
    internal StoreResult Apply(FakeResource resource, string ns, string name, JsonObject body, string manager, bool force)
    {
        if (body["apiVersion"]?.GetValue<string>() != resource.ApiVersion || body["kind"]?.GetValue<string>() != resource.Kind)
        {
            return Fail(400, "BadRequest", $"apiVersion and kind must be {resource.ApiVersion} and {resource.Kind} in an apply configuration");
        }

        if (body["metadata"]?["name"]?.GetValue<string>() is { } bodyName && bodyName != name)
        {
            return Fail(400, "BadRequest", $"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        if (body["metadata"]?["namespace"]?.GetValue<string>() is { } bodyNs && bodyNs != ns)
        {
            return Fail(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
        }

        var applied = Flatten(body);
        var me = new FieldManagerKey(manager, "Apply", string.Empty);
        var notify = false;
        StoreResult result;
        lock (_lock)
        {
            var key = (resource, ns, name);
            if (!_objects.TryGetValue(key, out var existing))
            {
                var created = (JsonObject)body.DeepClone();
                created.Remove("status");
                var meta = created["metadata"]!.AsObject();
                meta["name"] = name;
                meta["namespace"] = ns;
                meta["uid"] = Guid.NewGuid().ToString();
                meta["creationTimestamp"] = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                meta["generation"] = 1;
                ApplyDefaults(resource, created);
                _owners[key] = new() { [me] = ([.. applied.Keys], time.GetUtcNow()) };
                result = new StoreResult(201, Write(resource, ns, name, created, "ADDED"));
                notify = resource.IsWorkload;
            }
            else
            {
                var owners = _owners[key];
                var conflicts = new List<(string Path, FieldManagerKey Owner)>();
                foreach (var (path, value) in applied)
                {
                    var current = GetAt(existing, path);
                    foreach (var (owner, owned) in owners)
                    {
                        if (owner != me && owned.Fields.Contains(path) && !JsonNode.DeepEquals(current, value))
                        {
                            conflicts.Add((path, owner));
                        }
                    }
                }

                if (conflicts.Count > 0 && !force)
                {
                    return new StoreResult(409, ConflictStatus(resource, conflicts));
                }

                var before = Snapshot(owners);
                foreach (var (path, owner) in conflicts)
                {
                    owners[owner].Fields.Remove(path);
                }

                var updated = (JsonObject)existing.DeepClone();
                var previouslyOwned = owners.TryGetValue(me, out var mine) ? mine.Fields : [];
                foreach (var path in previouslyOwned.Where(p => !applied.ContainsKey(p)))
                {
                    if (!owners.Any(o => o.Key != me && o.Value.Fields.Contains(path)))
                    {
                        RemoveAt(updated, path);
                    }
                }

                foreach (var (path, value) in applied)
                {
                    SetAt(updated, path, value?.DeepClone());
                }

                owners[me] = ([.. applied.Keys], owners.TryGetValue(me, out var old) ? old.Time : time.GetUtcNow());
                RemoveEmptyOwners(owners);
                var ownershipChanged = before != Snapshot(owners);
                if (!JsonNode.DeepEquals(updated, existing) || ownershipChanged)
                {
                    owners[me] = (owners[me].Fields, time.GetUtcNow());
                    if (!JsonNode.DeepEquals(updated["spec"], existing["spec"]))
                    {
                        updated["metadata"]!["generation"] = updated["metadata"]!["generation"]!.AsLong() + 1;
                        notify = resource.IsWorkload;
                    }

                    result = new StoreResult(200, Write(resource, ns, name, updated, "MODIFIED"));
                }
                else
                {
                    result = new StoreResult(200, Render(resource, ns, name, existing));
                }
            }
        }

        if (notify)
        {
            WorkloadChanged?.Invoke(resource, ns, name);
        }

        return result;
    }

    /// <summary>A write through an Update operation (scale subresource): takes the fields from everyone else, never conflicts.</summary>
    internal StoreResult UpdateFields(FakeResource resource, string ns, string name, IReadOnlyDictionary<string, JsonNode?> fields, string manager, string subresource)
    {
        var me = new FieldManagerKey(manager, "Update", subresource);
        StoreResult result;
        var notify = false;
        lock (_lock)
        {
            var key = (resource, ns, name);
            if (!_objects.TryGetValue(key, out var existing))
            {
                return NotFound(resource, name);
            }

            var owners = _owners[key];
            var before = Snapshot(owners);
            var updated = (JsonObject)existing.DeepClone();
            foreach (var (path, value) in fields)
            {
                SetAt(updated, path, value?.DeepClone());
                foreach (var owner in owners.Where(o => o.Key != me))
                {
                    owner.Value.Fields.Remove(path);
                }
            }

            owners[me] = (owners.TryGetValue(me, out var mine) ? [.. mine.Fields, .. fields.Keys] : [.. fields.Keys], time.GetUtcNow());
            RemoveEmptyOwners(owners);
            if (!JsonNode.DeepEquals(updated, existing) || before != Snapshot(owners))
            {
                if (!JsonNode.DeepEquals(updated["spec"], existing["spec"]))
                {
                    updated["metadata"]!["generation"] = updated["metadata"]!["generation"]!.AsLong() + 1;
                    notify = resource.IsWorkload;
                }

                result = new StoreResult(200, Write(resource, ns, name, updated, "MODIFIED"));
            }
            else
            {
                result = new StoreResult(200, Render(resource, ns, name, existing));
            }
        }

        if (notify)
        {
            WorkloadChanged?.Invoke(resource, ns, name);
        }

        return result;
    }

    /// <summary>Replaces the status (status subresource); bumps the resourceVersion when it changed.</summary>
    public JsonObject? SetStatus(FakeResource resource, string ns, string name, JsonObject status)
    {
        lock (_lock)
        {
            if (!_objects.TryGetValue((resource, ns, name), out var existing))
            {
                return null;
            }

            if (JsonNode.DeepEquals(existing["status"], status))
            {
                return Render(resource, ns, name, existing);
            }

            var updated = (JsonObject)existing.DeepClone();
            updated["status"] = status.DeepClone();
            return Write(resource, ns, name, updated, "MODIFIED");
        }
    }

    /// <summary>Creates an object directly (what a controller does), without field ownership by a client.</summary>
    public JsonObject Create(FakeResource resource, string ns, JsonObject obj, string manager)
    {
        lock (_lock)
        {
            var meta = obj["metadata"]!.AsObject();
            var name = meta["name"]!.GetValue<string>();
            meta["namespace"] = ns;
            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            _owners[(resource, ns, name)] = new() { [new FieldManagerKey(manager, "Update", string.Empty)] = ([.. Flatten(obj).Keys], time.GetUtcNow()) };
            return Write(resource, ns, name, obj, "ADDED");
        }
    }

    /// <summary>
    /// Deletes an object. Foreground propagation with dependents only marks it (deletionTimestamp and the
    /// <c>foregroundDeletion</c> finalizer) and returns it with <c>Pending</c> set: call
    /// <see cref="FinishForegroundDeletion"/> to play the garbage collector. Otherwise it is removed at once together
    /// with its dependents (unless orphaned). Null when absent.
    /// </summary>
    public (JsonObject Object, bool Pending)? Delete(FakeResource resource, string ns, string name, string propagationPolicy)
    {
        (JsonObject, bool)? result;
        lock (_lock)
        {
            if (!_objects.TryGetValue((resource, ns, name), out var existing))
            {
                return null;
            }

            var uid = existing["metadata"]!["uid"]!.GetValue<string>();
            if (propagationPolicy == "Foreground" && DependentsOf(ns, uid).Count > 0)
            {
                if (existing["metadata"]?["deletionTimestamp"] is not null)
                {
                    return (Render(resource, ns, name, existing), true);
                }

                var marked = (JsonObject)existing.DeepClone();
                marked["metadata"]!["deletionTimestamp"] = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                marked["metadata"]!["finalizers"] = new JsonArray("foregroundDeletion");
                return (Write(resource, ns, name, marked, "MODIFIED"), true);
            }

            result = DeleteLocked(resource, ns, name, propagationPolicy) is { } deleted ? (deleted, false) : null;
        }

        if (result is not null && resource.IsWorkload)
        {
            WorkloadChanged?.Invoke(resource, ns, name);
        }

        return result;
    }

    /// <summary>The garbage collector's part of a foreground deletion: dependents first, then the owner.</summary>
    public void FinishForegroundDeletion(FakeResource resource, string ns, string name)
    {
        lock (_lock)
        {
            DeleteLocked(resource, ns, name, "Foreground");
        }
    }

    private List<(FakeResource, string, string)> DependentsOf(string ns, string uid) =>
        [.. _objects
            .Where(o => o.Key.Item2 == ns && (o.Value["metadata"]?["ownerReferences"]?.AsArray() ?? []).Any(r => r?["uid"]?.GetValue<string>() == uid))
            .Select(o => o.Key)];

    private JsonObject? DeleteLocked(FakeResource resource, string ns, string name, string propagationPolicy)
    {
        var key = (resource, ns, name);
        if (!_objects.Remove(key, out var existing))
        {
            return null;
        }

        _owners.Remove(key);
        var uid = existing["metadata"]!["uid"]!.GetValue<string>();
        var rendered = Render(resource, ns, name, existing);
        _resourceVersion++;
        rendered["metadata"]!["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        Publish(new StoredEvent(_resourceVersion, resource, ns, "DELETED", rendered));

        foreach (var dependent in DependentsOf(ns, uid))
        {
            if (propagationPolicy == "Orphan")
            {
                var orphan = (JsonObject)_objects[dependent].DeepClone();
                orphan["metadata"]!.AsObject().Remove("ownerReferences");
                Write(dependent.Item1, dependent.Item2, dependent.Item3, orphan, "MODIFIED");
            }
            else
            {
                DeleteLocked(dependent.Item1, dependent.Item2, dependent.Item3, propagationPolicy);
            }
        }

        return rendered;
    }

    private JsonObject Write(FakeResource resource, string ns, string name, JsonObject obj, string type)
    {
        _resourceVersion++;
        obj["metadata"]!["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        _objects[(resource, ns, name)] = obj;
        var rendered = Render(resource, ns, name, obj);
        Publish(new StoredEvent(_resourceVersion, resource, ns, type, rendered));
        return Render(resource, ns, name, obj);
    }

    private void Publish(StoredEvent stored)
    {
        _history.Add(stored);
        foreach (var watch in _watches.Where(w => w.Resource == stored.Resource && w.Namespace == stored.Namespace && w.Selector.Matches(stored.Object)))
        {
            watch.Events.Writer.TryWrite(WatchEvent(stored.Type, (JsonObject)stored.Object.DeepClone()));
        }
    }

    private static JsonObject WatchEvent(string type, JsonObject obj) => new() { ["type"] = type, ["object"] = obj };

    /// <summary>The object as served: a copy with kind, apiVersion and managedFields.</summary>
    private JsonObject Render(FakeResource resource, string ns, string name, JsonObject stored)
    {
        var copy = (JsonObject)stored.DeepClone();
        copy["apiVersion"] = resource.ApiVersion;
        copy["kind"] = resource.Kind;
        if (_owners.TryGetValue((resource, ns, name), out var owners))
        {
            var entries = new JsonArray();
            foreach (var (owner, owned) in owners.OrderBy(o => o.Key.Manager, StringComparer.Ordinal))
            {
                var entry = new JsonObject
                {
                    ["manager"] = owner.Manager,
                    ["operation"] = owner.Operation,
                    ["apiVersion"] = resource.ApiVersion,
                    ["time"] = owned.Time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["fieldsType"] = "FieldsV1",
                    ["fieldsV1"] = FieldsV1(owned.Fields),
                };
                if (owner.Subresource.Length > 0)
                {
                    entry["subresource"] = owner.Subresource;
                }

                entries.Add(entry);
            }

            copy["metadata"]!["managedFields"] = entries;
        }

        return copy;
    }

    private static JsonObject FieldsV1(IEnumerable<string> paths)
    {
        var root = new JsonObject();
        foreach (var path in paths.Order(StringComparer.Ordinal))
        {
            var node = root;
            foreach (var segment in path.Split(PathSeparator))
            {
                var key = "f:" + segment;
                node = node[key] as JsonObject ?? (JsonObject)(node[key] = new JsonObject());
            }
        }

        return root;
    }

    private void ApplyDefaults(FakeResource resource, JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        if (resource.IsWorkload && spec is not null && spec["replicas"] is null)
        {
            spec["replicas"] = 1;
        }

        if (resource == FakeResource.Services && spec is not null && spec["clusterIP"] is null)
        {
            spec["clusterIP"] = $"10.96.0.{_ipCounter++}";
        }
    }

    private static JsonObject ConflictStatus(FakeResource resource, List<(string Path, FieldManagerKey Owner)> conflicts)
    {
        var causes = new JsonArray();
        foreach (var (path, owner) in conflicts)
        {
            var message = owner.Operation == "Apply" ? $"conflict with \"{owner.Manager}\"" : $"conflict with \"{owner.Manager}\" using {resource.ApiVersion}";
            causes.Add(new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = message, ["field"] = "." + path.Replace(PathSeparator, '.') });
        }

        var summary = string.Join("\n", causes.Select(c => $"{c!["message"]}: {c["field"]}"));
        var status = FakeStatus.Create(409, "Conflict", $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? string.Empty : "s")}: {summary}");
        status["details"] = new JsonObject { ["causes"] = causes };
        return status;
    }

    private static StoreResult Fail(int code, string reason, string message) => new(code, FakeStatus.Create(code, reason, message));

    internal static StoreResult NotFound(FakeResource resource, string name) =>
        new(404, FakeStatus.NotFound(resource, name));

    private static string Snapshot(Dictionary<FieldManagerKey, (HashSet<string> Fields, DateTimeOffset Time)> owners) =>
        string.Join("|", owners.OrderBy(o => o.Key.ToString(), StringComparer.Ordinal).Select(o => o.Key + ":" + string.Join(",", o.Value.Fields.Order(StringComparer.Ordinal))));

    private static void RemoveEmptyOwners(Dictionary<FieldManagerKey, (HashSet<string> Fields, DateTimeOffset Time)> owners)
    {
        foreach (var empty in owners.Where(o => o.Value.Fields.Count == 0).Select(o => o.Key).ToList())
        {
            owners.Remove(empty);
        }
    }

    // ---- field paths: leaves are scalars, lists (atomic here) and empty objects; '\u001f' separates segments ----

    public const char PathSeparator = '\u001f';

    private static readonly HashSet<string> UnownedPaths = new(StringComparer.Ordinal)
    {
        "apiVersion", "kind", "status",
        $"metadata{PathSeparator}name", $"metadata{PathSeparator}namespace", $"metadata{PathSeparator}uid",
        $"metadata{PathSeparator}resourceVersion", $"metadata{PathSeparator}generation",
        $"metadata{PathSeparator}creationTimestamp", $"metadata{PathSeparator}managedFields",
    };

    public static Dictionary<string, JsonNode?> Flatten(JsonObject obj)
    {
        var leaves = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        Walk(obj, string.Empty, leaves);
        return leaves;
    }

    private static void Walk(JsonNode? node, string path, Dictionary<string, JsonNode?> leaves)
    {
        if (UnownedPaths.Contains(path))
        {
            return;
        }

        if (node is JsonObject obj && (obj.Count > 0 || path.Length == 0))
        {
            foreach (var (key, child) in obj)
            {
                Walk(child, path.Length == 0 ? key : path + PathSeparator + key, leaves);
            }

            return;
        }

        leaves[path] = node;
    }

    private static JsonNode? GetAt(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var segment in path.Split(PathSeparator))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(segment, out var child) ? child : null;
        }

        return node;
    }

    private static void SetAt(JsonObject obj, string path, JsonNode? value)
    {
        var segments = path.Split(PathSeparator);
        var node = obj;
        foreach (var segment in segments[..^1])
        {
            node = node[segment] as JsonObject ?? (JsonObject)(node[segment] = new JsonObject());
        }

        node[segments[^1]] = value;
    }

    private static void RemoveAt(JsonObject obj, string path)
    {
        var segments = path.Split(PathSeparator);
        var chain = new List<JsonObject> { obj };
        foreach (var segment in segments[..^1])
        {
            if (chain[^1][segment] is not JsonObject next)
            {
                return;
            }

            chain.Add(next);
        }

        chain[^1].Remove(segments[^1]);
        for (var i = chain.Count - 1; i > 0 && chain[i].Count == 0; i--)
        {
            chain[i - 1].Remove(segments[i - 1]);
        }
    }
}
