using System.Collections.Concurrent;

namespace ModelServeShim.Gateway;

/// <summary>One interval of a service's gateway traffic.</summary>
/// <param name="At">The interval's start.</param>
/// <param name="Requests">Requests that ended in it.</param>
/// <param name="Errors">Those that ended with a status of 500 or more (the runtime's or the gateway's).</param>
/// <param name="MeanLatencyMs">Their mean duration (0 without requests).</param>
/// <param name="PromptTokens">Prompt tokens the runtime reported.</param>
/// <param name="CompletionTokens">Completion tokens the runtime reported.</param>
public sealed record UsagePoint(DateTimeOffset At, int Requests, int Errors, double MeanLatencyMs, long PromptTokens, long CompletionTokens);

/// <summary>A service's recent gateway traffic, oldest interval first (the service detail page's chart).</summary>
/// <param name="IntervalSeconds">The width of each interval.</param>
/// <param name="Points">The last <see cref="GatewayUsage.Intervals"/> intervals, the current (partial) one last.</param>
public sealed record UsageSeries(int IntervalSeconds, IReadOnlyList<UsagePoint> Points);

/// <summary>
/// Keeps the last ten minutes of each service's gateway traffic in memory, in 10-second intervals, for the web UI
/// (Prometheus has the full history: docs/metrics.md). Lost on restart by design.
/// </summary>
public sealed class GatewayUsage(TimeProvider time)
{
    /// <summary>Seconds per interval.</summary>
    public const int IntervalSeconds = 10;

    /// <summary>Intervals kept per service.</summary>
    public const int Intervals = 60;

    private readonly ConcurrentDictionary<string, Ring> _services = new(StringComparer.Ordinal);

    /// <summary>Records one request that ended now.</summary>
    public void Record(string serviceId, int status, TimeSpan duration, TokenUsage? usage)
    {
        var ring = _services.GetOrAdd(serviceId, _ => new Ring());
        var slot = Slot(time.GetUtcNow());
        lock (ring)
        {
            ref var bucket = ref ring.At(slot);
            bucket.Requests++;
            bucket.Errors += status >= 500 ? 1 : 0;
            bucket.LatencyMs += duration.TotalMilliseconds;
            bucket.PromptTokens += usage?.PromptTokens ?? 0;
            bucket.CompletionTokens += usage?.CompletionTokens ?? 0;
        }
    }

    /// <summary>The service's last <see cref="Intervals"/> intervals (zeros where nothing happened).</summary>
    public UsageSeries Series(string serviceId)
    {
        var now = Slot(time.GetUtcNow());
        var points = new List<UsagePoint>(Intervals);
        _services.TryGetValue(serviceId, out var ring);
        for (var slot = now - Intervals + 1; slot <= now; slot++)
        {
            var bucket = default(Bucket);
            if (ring is not null)
            {
                lock (ring)
                {
                    bucket = ring.Read(slot);
                }
            }

            points.Add(new UsagePoint(
                DateTimeOffset.FromUnixTimeSeconds(slot * IntervalSeconds), bucket.Requests, bucket.Errors,
                bucket.Requests == 0 ? 0 : Math.Round(bucket.LatencyMs / bucket.Requests, 2), bucket.PromptTokens, bucket.CompletionTokens));
        }

        return new UsageSeries(IntervalSeconds, points);
    }

    private static long Slot(DateTimeOffset at) => at.ToUnixTimeSeconds() / IntervalSeconds;

    private struct Bucket
    {
        public long Slot;
        public int Requests;
        public int Errors;
        public double LatencyMs;
        public long PromptTokens;
        public long CompletionTokens;
    }

    /// <summary>A fixed ring of buckets indexed by interval number; a bucket from an older lap reads as empty.</summary>
    private sealed class Ring
    {
        private readonly Bucket[] _buckets = new Bucket[Intervals];

        public ref Bucket At(long slot)
        {
            ref var bucket = ref _buckets[slot % Intervals];
            if (bucket.Slot != slot)
            {
                bucket = new Bucket { Slot = slot };
            }

            return ref bucket;
        }

        public Bucket Read(long slot)
        {
            var bucket = _buckets[slot % Intervals];
            return bucket.Slot == slot ? bucket : default;
        }
    }
}
