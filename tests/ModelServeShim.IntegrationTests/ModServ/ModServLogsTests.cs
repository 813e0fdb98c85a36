using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary><c>GET /{id}/pipeline/logs?follow=true</c>: the journal as server-sent events until the pipeline ends.</summary>
public sealed class ModServLogsTests(ModServFactory factory) : ModServLogsTestsBase(factory), IClassFixture<ModServFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class ModServLogsPostgresTests(PostgresModServFactory factory) : ModServLogsTestsBase(factory), IClassFixture<PostgresModServFactory>;

public abstract class ModServLogsTestsBase(ModServFactory factory)
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Logs_Follow_StreamsJournalEvents_AndEndsWhenThePipelineFinishes()
    {
        // Slow the service's start so the stream is open while steps still run.
        factory.Shimlet.PendingFor = TimeSpan.FromSeconds(1);
        var serviceId = await _client.DeployAsync(ModServClient.Body("followed"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{ModServClient.Base}/{serviceId}/pipeline/logs?follow=true");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ServerSentEventReader.ReadAllAsync(response, timeout.Token);
        Assert.True(events.Count >= 2, $"{events.Count} events");
        Assert.Equal("end", events[^1].Event);
        var journal = events.SkipLast(1).ToList();
        Assert.All(journal, e => Assert.Equal("journal", e.Event));
        var entries = journal.Select(e => JsonNode.Parse(e.Data)!).ToList();
        var sequences = entries.Select(e => (long)e["sequence"]!).ToList();
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        Assert.Equal(journal.Select(e => e.Id), sequences.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(ModServClient.Steps, step => Assert.Contains(entries, e => (string?)e["activityId"] == step));
        Assert.Contains(entries, e => (string)e["event"]! == "StepCompleted" && (string?)e["activityId"] == "health-check");
        Assert.All(entries, e => Assert.Equal("anonymous", (string)e["properties"]!["operator"]!));

        // Everything streamed is what the stored journal holds.
        var stored = await _client.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        Assert.Equal(stored["items"]!.AsArray().Select(e => (long)e!["sequence"]!), sequences);
    }

    [Fact]
    public async Task Logs_Follow_OfFinishedPipeline_ReplaysAndEnds()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("followed-late", dryRun: true));
        await _client.WaitForStateAsync(serviceId, "Stopped");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{ModServClient.Base}/{serviceId}/pipeline/logs?follow=true&afterSequence=2");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var events = await ServerSentEventReader.ReadAllAsync(response, timeout.Token);

        Assert.Equal("end", events[^1].Event);
        Assert.NotEmpty(events.SkipLast(1));
        Assert.All(events.SkipLast(1), e => Assert.True(long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture) > 2));
    }

    [Fact]
    public async Task Logs_OfUnknownService_Returns404Envelope()
    {
        var body = await (await _client.GetAsync($"{ModServClient.Base}/nope-123/pipeline/logs?follow=true").ExpectAsync(HttpStatusCode.NotFound)).ReadJsonAsync();
        Assert.Equal(404, (int)body["code"]!);
        Assert.Contains("nope-123", (string)body["message"]!, StringComparison.Ordinal);
    }
}
