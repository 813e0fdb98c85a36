using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>One service's spec, replicas and on-disk place.</summary>
/// <remarks>
/// Operations on a service are serialised by the shimlet's per-service lock; the replica list is also read by
/// supervisors persisting a change, so it is guarded by its own lock.
/// </remarks>
internal sealed class LocalService(string serviceId, string directory, DeploymentSpec spec, string specHash, LaunchPlan plan)
{
    private readonly Lock _gate = new();
    private readonly List<ReplicaSupervisor> _replicas = [];
    private bool _deleted;

    public string ServiceId { get; } = serviceId;

    /// <summary><c>&lt;state&gt;/services/&lt;id&gt;</c>: the record, <c>work/</c> and <c>logs/</c>.</summary>
    public string Directory { get; } = directory;

    public DeploymentSpec Spec { get; set; } = spec;

    public string SpecHash { get; set; } = specHash;

    public LaunchPlan Plan { get; set; } = plan;

    public static string WorkDirectory(string directory) => Path.Combine(directory, "work");

    public static string LogDirectory(string directory) => Path.Combine(directory, "logs");

    public IReadOnlyList<ReplicaSupervisor> Replicas
    {
        get
        {
            lock (_gate)
            {
                return [.. _replicas];
            }
        }
    }

    public void Add(ReplicaSupervisor replica)
    {
        lock (_gate)
        {
            _replicas.Add(replica);
            _replicas.Sort((a, b) => a.Index.CompareTo(b.Index));
        }
    }

    public void Remove(ReplicaSupervisor replica)
    {
        lock (_gate)
        {
            _replicas.Remove(replica);
        }
    }

    /// <summary>After this, changes are no longer written (the record is being removed).</summary>
    public void MarkDeleted()
    {
        lock (_gate)
        {
            _deleted = true;
        }
    }

    /// <summary>Writes the service's record (atomically).</summary>
    public void Persist()
    {
        lock (_gate)
        {
            if (_deleted)
            {
                return;
            }

            System.IO.Directory.CreateDirectory(Directory);
            ServiceRecordStore.Write(Directory, new ServiceRecord
            {
                Spec = Spec with { Replicas = _replicas.Count },
                SpecHash = SpecHash,
                BootId = ProcFs.BootId(),
                Replicas = [.. _replicas.Select(r => r.ToRecord())],
            });
        }
    }
}
