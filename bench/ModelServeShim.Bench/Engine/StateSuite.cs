using System.Globalization;
using System.Text;
using ModelServeShim.Testing.Postgres;

namespace ModelServeShim.Bench.Engine;

/// <summary>
/// The "engine-state" suite: the engine benchmark's persisted 5-step instances on each state provider, one process,
/// one runtime — SQLite (WAL, synchronous=NORMAL) and PostgreSQL (a local cluster with durable defaults: fsync and
/// synchronous commit on) with one runtime, and with three runtimes on one database (replicas, in this one process,
/// instances started round-robin) — at concurrency 1, 16 and 256.
/// </summary>
internal static class StateSuite
{
    public const string Command = "dotnet run -c Release --project bench/ModelServeShim.Bench -- engine-state";
    private const int MaxConcurrency = 256;

    public static async Task<bool> RunAsync(bool quick, TextWriter output)
    {
        LoadLevel[] levels = quick
            ? [new(1, 20, 5), new(16, 100, 32), new(MaxConcurrency, 300, 256)]
            : [new(1, 200, 50), new(16, 2_000, 200), new(MaxConcurrency, 2_000, 512)];
        await output.WriteLineAsync($"State provider benchmark{(quick ? " (--quick)" : "")}: {Environment.ProcessorCount} cores");
        var cluster = PostgresCluster.StartDurable();
        var runs = new List<EngineRun>();
        try
        {
            foreach (var level in levels)
            {
                await using (var sqlite = await ShimEngineBench.StartAsync(MaxConcurrency))
                {
                    runs.Add(await Report(output, await sqlite.RunAsync(level, "SQLite")));
                }

                IEnumerable<KeyValuePair<string, string?>> postgres =
                [
                    new("State:Provider", "postgres"),
                    new("State:ConnectionString", cluster.CreateDatabase("bench")),
                    new("State:Password", cluster.Password),
                ];
                await using (var pg = await ShimEngineBench.StartAsync(MaxConcurrency, postgres))
                {
                    runs.Add(await Report(output, await pg.RunAsync(level, "PostgreSQL 1 replica")));
                }

                IEnumerable<KeyValuePair<string, string?>> shared =
                [
                    new("State:Provider", "postgres"),
                    new("State:ConnectionString", cluster.CreateDatabase("bench3")),
                    new("State:Password", cluster.Password),
                ];
                var replicas = new List<ShimEngineBench>();
                try
                {
                    for (var i = 0; i < 3; i++)
                    {
                        replicas.Add(await ShimEngineBench.StartAsync(MaxConcurrency, shared));
                    }

                    runs.Add(await Report(output, await ShimEngineBench.RunAsync(replicas, level, "PostgreSQL 3 replicas")));
                }
                finally
                {
                    foreach (var replica in replicas)
                    {
                        await replica.DisposeAsync();
                    }
                }
            }
        }
        finally
        {
            cluster.Stop();
        }

        await output.WriteLineAsync();
        await output.WriteLineAsync(Markdown(runs, quick));
        return runs.All(r => r.Passed);
    }

    private static async Task<EngineRun> Report(TextWriter output, EngineRun run)
    {
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  {run.Engine}, C={run.Level.Concurrency}, N={run.Level.Instances}: {run.Load.PerSecond:0.0}/s, p50 {run.Load.P50:0.00} ms, p99 {run.Load.P99:0.00} ms; {run.Check} {run.Notes}"));
        return run;
    }

    private static string Markdown(List<EngineRun> runs, bool quick)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"Command: `{Command}`{(quick ? " (a `--quick` smoke run)" : "")}. Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores.");
        md.AppendLine();
        md.AppendLine("| State | C | N | instances/s | p50 ms | p99 ms | self-check | notes |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in runs)
        {
            md.AppendLine(inv, $"| {r.Engine} | {r.Level.Concurrency} | {r.Level.Instances:N0} | {r.Load.PerSecond:N0} | {r.Load.P50:0.00} | {r.Load.P99:0.00} | {r.Check} | {r.Notes} |");
        }

        return md.ToString();
    }
}
