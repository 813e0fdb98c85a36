using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>What survives an orchestrator restart: the spec and where each replica's process is.</summary>
internal sealed record ServiceRecord
{
    public int Version { get; init; } = 1;

    public required DeploymentSpec Spec { get; init; }

    public required string SpecHash { get; init; }

    /// <summary>The boot the pids and start times belong to.</summary>
    public string? BootId { get; init; }

    public required IReadOnlyList<ReplicaRecord> Replicas { get; init; }
}

/// <summary>One replica: its port and, while it runs, its process identity.</summary>
/// <param name="Index">The replica index.</param>
/// <param name="Port">Its port on 127.0.0.1.</param>
/// <param name="Pid">The process id, or null when no process runs (backing off, crash loop).</param>
/// <param name="StartTime">Field 22 of <c>/proc/&lt;pid&gt;/stat</c>.</param>
/// <param name="Cmdline">The argv as started and, once seen, as <c>/proc/&lt;pid&gt;/cmdline</c> shows it.</param>
/// <param name="StartedAt">When it started (for people).</param>
internal sealed record ReplicaRecord(int Index, int Port, int? Pid, ulong StartTime, IReadOnlyList<IReadOnlyList<string>> Cmdline, DateTimeOffset? StartedAt);

/// <summary>Reads and writes service records; writes are atomic (temp file, flush, rename).</summary>
internal static class ServiceRecordStore
{
    public const string FileName = "service.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(string directory, ServiceRecord record)
    {
        var path = Path.Combine(directory, FileName);
        var temp = Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, record, Json);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The record in <paramref name="directory"/>, or null when there is none.</summary>
    /// <exception cref="JsonException">The file is not a record.</exception>
    public static ServiceRecord? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<ServiceRecord>(stream, Json) ?? throw new JsonException($"{path} holds null.");
    }

    /// <summary>
    /// A hash of everything in the spec that needs new processes when it changes: all of it but the replica count
    /// (which scales). Dictionaries are sorted so their order does not matter.
    /// </summary>
    public static string Hash(DeploymentSpec spec)
    {
        var normalized = spec with
        {
            Replicas = 0,
            Labels = new SortedDictionary<string, string>(spec.Labels.ToDictionary(), StringComparer.Ordinal),
            Environment = new SortedDictionary<string, string>(spec.Environment.ToDictionary(), StringComparer.Ordinal),
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(normalized, Json);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>A directory name for a service id: the id itself when it is a safe name, else a safe prefix plus a hash.</summary>
    public static string DirectoryName(string serviceId)
    {
        var safe = serviceId.Length is > 0 and <= 100
            && serviceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            && serviceId[0] != '.';
        if (safe)
        {
            return serviceId;
        }

        var cleaned = new string([.. serviceId.Take(60).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(serviceId)))[..12];
        return $"{cleaned}-{hash}";
    }
}
