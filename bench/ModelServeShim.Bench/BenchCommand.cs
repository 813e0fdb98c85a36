using System.Globalization;
using ModelServeShim.Bench.Checksum;
using ModelServeShim.Bench.Engine;
using ModelServeShim.Bench.Hangfire;

namespace ModelServeShim.Bench;

/// <summary>Parses the command line: <c>engine [--quick]</c>, <c>engine-state [--quick]</c>, <c>hangfire [--quick]</c> or <c>checksum &lt;manifest&gt; [parallelism]</c>.</summary>
internal static class BenchCommand
{
    private const string Usage = """
        Usage: dotnet run -c Release --project bench/ModelServeShim.Bench -- engine [--quick]
               dotnet run -c Release --project bench/ModelServeShim.Bench -- checksum <SHA256SUMS> [parallelism]
               dotnet run -c Release --project bench/ModelServeShim.Bench -- engine-state [--quick]
               dotnet run -c Release --project bench/ModelServeShim.Bench -- hangfire [--quick]

          engine   Workflow engine overhead: persisted 5-step no-op instances at concurrency 1, 16 and 256,
                   then the same workflow on WorkflowCore 3.22 (default and tuned options). Writes the
                   "Workflow engine overhead" section of docs/benchmarks.md.
          engine-state
                   The same persisted 5-step instances on SQLite and on PostgreSQL (a throw-away local cluster
                   with PostgreSQL's durable defaults, started by the benchmark); prints a markdown table.
          hangfire The same persisted 5-step chain as Hangfire 1.8 continuations (an in-process BackgroundJobServer,
                   one worker per in-flight chain), beside ModelServeShim's, on SQLite (Hangfire.Storage.SQLite) and
                   on one throw-away PostgreSQL cluster (Hangfire.PostgreSql) at concurrency 16; prints a markdown table.
          --quick  A smoke run with small N; prints the table and leaves docs/benchmarks.md alone.
          checksum Verifies the files a sha256sum-format manifest lists with the checksum-verification step's
                   code (files in parallel, default one per processor) and prints bytes, seconds and MB/s
                   (bench/checksum.sh runs it against sha256sum).
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var quick = args.Contains("--quick", StringComparer.Ordinal);
        var rest = args.Where(a => a != "--quick").ToArray();
        if (rest is ["checksum", var manifest, .. var more] && more.Length <= 1)
        {
            var parallelism = more.Length == 1 ? int.Parse(more[0], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
            return await ChecksumBench.RunAsync(manifest, parallelism, output) ? 0 : 1;
        }

        var ok = rest switch
        {
            ["engine"] => await EngineSuite.RunAsync(quick, output),
            ["engine-state"] => await StateSuite.RunAsync(quick, output),
            ["hangfire"] => await HangfireSuite.RunAsync(quick, output),
            _ => (bool?)null,
        };
        if (ok is null)
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }

        return ok.Value ? 0 : 1;
    }
}
