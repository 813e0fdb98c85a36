using System.Globalization;
using System.Text;
using ModelServeShim.Bench.Engine;
using ModelServeShim.Testing.Postgres;

namespace ModelServeShim.Bench.Hangfire;

/// <summary>
/// The "hangfire" suite, durable against durable: the ModelServeShim persisted 5-step no-op chain and the same chain as
/// Hangfire continuations, side by side in one process, on SQLite and on one throw-away PostgreSQL cluster (durable
/// defaults), at one modest concurrency with as many Hangfire workers.
/// </summary>
internal static class HangfireSuite
{
    public const string Command = "dotnet run -c Release --project bench/ModelServeShim.Bench -- hangfire";
    private const int Concurrency = 16;

    public static async Task<bool> RunAsync(bool quick, TextWriter output)
    {
        var level = quick ? new LoadLevel(Concurrency, 60, 16) : new LoadLevel(Concurrency, 200, 16);

        // Hangfire's client calls block; let the pool hand the closed loop's workers threads at once (both sides).
        ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
        ThreadPool.SetMinThreads(Math.Max(workerThreads, 4 * Concurrency), ioThreads);
        await output.WriteLineAsync($"ModelServeShim vs Hangfire{(quick ? " (--quick)" : "")}: {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        var cluster = PostgresCluster.StartDurable();
        var runs = new List<EngineRun>();
        try
        {
            await using (var shim = await ShimEngineBench.StartAsync(Concurrency))
            {
                runs.Add(await Report(output, await shim.RunAsync(level, "ModelServeShim · SQLite")));
            }

            using (var hangfire = HangfireChainBench.StartSqlite(Concurrency))
            {
                runs.Add(await Report(output, await hangfire.RunAsync(level, "Hangfire · SQLite", heldFirst: false)));
                runs.Add(await Report(output, await hangfire.RunAsync(level, "Hangfire · SQLite, chain built before it runs", heldFirst: true)));
            }

            IEnumerable<KeyValuePair<string, string?>> postgres =
            [
                new("State:Provider", "postgres"),
                new("State:ConnectionString", cluster.CreateDatabase("bench")),
                new("State:Password", cluster.Password),
            ];
            await using (var shim = await ShimEngineBench.StartAsync(Concurrency, postgres))
            {
                runs.Add(await Report(output, await shim.RunAsync(level, "ModelServeShim · PostgreSQL")));
            }

            var hangfireDb = $"{cluster.CreateDatabase("hangfire")};Password={cluster.Password}";
            using (var hangfire = HangfireChainBench.StartPostgres(hangfireDb, Concurrency))
            {
                runs.Add(await Report(output, await hangfire.RunAsync(level, "Hangfire · PostgreSQL", heldFirst: false)));
                runs.Add(await Report(output, await hangfire.RunAsync(level, "Hangfire · PostgreSQL, chain built before it runs", heldFirst: true)));
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

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static async Task<EngineRun> Report(TextWriter output, EngineRun run)
    {
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  {run.Engine}, C={run.Level.Concurrency}, N={run.Level.Instances}: {run.Load.PerSecond:0.0}/s, p50 {run.Load.P50:0.00} ms, p99 {run.Load.P99:0.00} ms, max {run.Load.LatenciesMs.DefaultIfEmpty(double.NaN).Max():0.00} ms; {run.Check} {run.Notes} (load average {LoadAverage()})"));
        return run;
    }

    private static string Markdown(List<EngineRun> runs, bool quick)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"Command: `{Command}`{(quick ? " (a `--quick` smoke run)" : "")}. Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()} at the end.");
        md.AppendLine();
        md.AppendLine("| Engine · state | C | N | chains/s | p50 ms | p99 ms | max ms | self-check |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in runs)
        {
            md.AppendLine(inv, $"| {r.Engine} | {r.Level.Concurrency} | {r.Level.Instances:N0} | {r.Load.PerSecond:N1} | {r.Load.P50:0.0} | {r.Load.P99:0.0} | {r.Load.LatenciesMs.DefaultIfEmpty(double.NaN).Max():0.0} | {r.Check} |");
        }

        md.AppendLine();
        foreach (var shim in runs.Where((_, i) => i % 3 == 0))
        {
            var database = shim.Engine.Split(" · ")[1];
            foreach (var hangfire in runs.Where(r => r.Engine.StartsWith($"Hangfire · {database}", StringComparison.Ordinal)))
            {
                md.AppendLine(inv, $"- {shim.Engine} against {hangfire.Engine}: {shim.Load.PerSecond / hangfire.Load.PerSecond:0.0}× the throughput, p50 {hangfire.Load.P50 / shim.Load.P50:0.0}× lower.");
            }
        }

        return md.ToString();
    }
}
