using System.Net;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// prometheus-net keeps its metrics in one process-wide registry, and every host in the test process refreshes
/// the <c>modserv_services</c> gauge from its own store before a scrape. Run alone (after the parallel classes),
/// so the gauge is this host's.
/// </summary>
[CollectionDefinition(nameof(ModServMetricsCollection), DisableParallelization = true)]
public sealed class ModServMetricsCollection;

[Collection(nameof(ModServMetricsCollection))]
public sealed class ModServMetricsTests(ModServFactory factory) : IClassFixture<ModServFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Metrics_AfterADeployment_CountStartsAndServicesByState()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("metered"));
        await _client.WaitForStateAsync(serviceId, "Running");

        var metrics = await (await _client.GetAsync("/metrics").ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync();
        var lines = metrics.Split('\n');

        Assert.Contains(lines, l => l.StartsWith("modserv_deployments_started_total{pipeline=\"opensourcellm\",shimlet=\"test\"} ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("modserv_deployments_finished_total{pipeline=\"opensourcellm\",shimlet=\"test\",result=\"succeeded\"} ", StringComparison.Ordinal));
        Assert.Contains("modserv_services{state=\"Running\"} 1", lines);
        Assert.Contains("modserv_services{state=\"Failed\"} 0", lines);
        Assert.Contains(lines, l => l.StartsWith("modserv_service_transitions_total{from=\"HealthChecking\",to=\"Running\"} ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("modserv_step_duration_seconds_count{step=\"health-check\",outcome=\"Succeeded\"} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_CountOpenEventStreams()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var before = await SubscribersAsync();
        var stream = await Apis.EventStreamTests.OpenAsync(_client, timeout.Token);

        Assert.Equal(before + 1, await SubscribersAsync());

        stream.Dispose();
        await Poll.UntilAsync(async () => await SubscribersAsync() == before ? "" : null, "the event stream gauge to drop back", TimeSpan.FromSeconds(10));
    }

    private async Task<double> SubscribersAsync()
    {
        var metrics = await (await _client.GetAsync("/metrics").ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync();
        var line = metrics.Split('\n').Single(l => l.StartsWith("modelserveshim_event_stream_subscribers ", StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
