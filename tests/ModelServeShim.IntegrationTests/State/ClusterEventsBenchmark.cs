using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Apis;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Workflows.Persistence;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.State;

/// <summary>Runs only when <c>MSS_BENCH=1</c> is set: a benchmark, not a test (docs/benchmarks.md).</summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    /// <summary>Skips unless asked for.</summary>
    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("MSS_BENCH") != "1")
        {
            Skip = "a benchmark: set MSS_BENCH=1 to run it";
        }
    }
}

/// <summary>
/// The cluster event feed's throughput and latency: events published on replica B (its real broadcaster: serialization,
/// the log's batched writer, the notification) until they are read from replica A's <c>/api/v1/events</c> stream.
/// <c>MSS_BENCH=1 dotnet test tests/ModelServeShim.IntegrationTests -c Release --filter FullyQualifiedName~ClusterEventsBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class ClusterEventsBenchmark(ClusterEventsTests.TwoReplicas replicas, ITestOutputHelper output) : IClassFixture<ClusterEventsTests.TwoReplicas>
{
    [BenchmarkFact]
    public async Task PublishOnB_ReadOnTheStreamOfA()
    {
        var a = replicas.A.CreateClient();
        var b = replicas.B.Services.GetRequiredService<EventBroadcaster>();
        await RunAsync("warm-up", a, b, count: 500, rate: null);
        await RunAsync("paced 100/s", a, b, count: 1000, rate: 100);
        await RunAsync("paced 1000/s", a, b, count: 5000, rate: 1000);
        await RunAsync("burst", a, b, count: 20_000, rate: null);
    }

    private async Task RunAsync(string name, HttpClient a, EventBroadcaster b, int count, int? rate)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var response = await EventStreamTests.OpenAsync(a, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var run = Guid.NewGuid().ToString("N")[..8];
        var sent = new long[count];
        var received = new long[count];

        var reading = Task.Run(async () =>
        {
            var seen = 0;
            while (seen < count)
            {
                var e = await reader.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("The stream ended.");
                var now = Stopwatch.GetTimestamp();
                if (e.Event == "instance" && JsonNode.Parse(e.Data)!["correlationId"]?.GetValue<string>() is { } c && c.StartsWith(run, StringComparison.Ordinal))
                {
                    received[int.Parse(c.AsSpan(run.Length + 1), CultureInfo.InvariantCulture)] = now;
                    seen++;
                }
            }
        });

        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            if (rate is { } r)
            {
                var due = start + (long)(i * (double)Stopwatch.Frequency / r);
                while (Stopwatch.GetTimestamp() < due)
                {
                    await Task.Delay(1);
                }
            }

            sent[i] = Stopwatch.GetTimestamp();
            b.OnInstanceChanged(new InstanceRecord
            {
                Id = $"bench-{run}-{i}", DefinitionId = "bench", DefinitionVersion = 1, Status = InstanceStatus.Running, CorrelationId = $"{run}-{i}",
            });
        }

        await reading;
        var elapsed = Stopwatch.GetElapsedTime(start);
        var latencies = sent.Zip(received, (s, r) => (r - s) * 1000.0 / Stopwatch.Frequency).Order().ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {count} events in {elapsed.TotalSeconds:0.00} s = {count / elapsed.TotalSeconds:0} events/s end to end; "
            + $"publish on B -> A's SSE p50 {latencies[count / 2]:0.0} ms, p99 {latencies[(int)(count * 0.99)]:0.0} ms, max {latencies[^1]:0.0} ms; "
            + $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
    }
}
