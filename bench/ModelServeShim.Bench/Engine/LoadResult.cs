using System.Diagnostics;

namespace ModelServeShim.Bench.Engine;

/// <summary>A load level: C instances in flight until N have finished.</summary>
/// <param name="Concurrency">Instances kept in flight.</param>
/// <param name="Instances">Instances measured.</param>
/// <param name="WarmUp">Instances run first and not measured.</param>
internal sealed record LoadLevel(int Concurrency, int Instances, int WarmUp);

/// <summary>What one measured run produced.</summary>
/// <param name="Ids">Instance ids, in start order.</param>
/// <param name="LatenciesMs">Start-to-finish latency of each instance.</param>
/// <param name="Elapsed">Wall time of the whole run.</param>
internal sealed record LoadResult(IReadOnlyList<string> Ids, double[] LatenciesMs, TimeSpan Elapsed)
{
    public double PerSecond => Ids.Count / Elapsed.TotalSeconds;

    public double P50 => Percentiles.Of(LatenciesMs, 50);

    public double P99 => Percentiles.Of(LatenciesMs, 99);
}

/// <summary>Runs a closed loop: C workers, each starting the next instance as soon as its previous one ends.</summary>
internal static class ClosedLoop
{
    /// <summary>Runs <paramref name="instances"/> instances; with a <paramref name="budget"/>, stops starting new ones once it is spent.</summary>
    public static async Task<LoadResult> RunAsync(int instances, int concurrency, Func<Task<string>> startAndWait, TimeSpan? budget = null)
    {
        var ids = new string[instances];
        var latencies = new double[instances];
        var next = -1;
        var finished = 0;
        var total = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Min(concurrency, instances)).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((budget is null || total.Elapsed < budget) && (i = Interlocked.Increment(ref next)) < instances)
            {
                var started = Stopwatch.GetTimestamp();
                ids[i] = await startAndWait();
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Interlocked.Increment(ref finished);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        total.Stop();
        return finished == instances
            ? new LoadResult(ids, latencies, total.Elapsed)
            : new LoadResult([.. ids.Where(id => id is not null)], [.. latencies.Where((_, k) => ids[k] is not null)], total.Elapsed);
    }
}

/// <summary>Nearest-rank percentiles.</summary>
internal static class Percentiles
{
    public static double Of(IReadOnlyCollection<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
