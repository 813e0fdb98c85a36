using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

/// <summary><c>GET /api/v1/events</c>: the server-wide event stream of the web UI.</summary>
public sealed class EventStreamTests(ShimFactory factory) : EventStreamTestsBase(factory), IClassFixture<ShimFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class EventStreamPostgresTests(PostgresShimFactory factory) : EventStreamTestsBase(factory), IClassFixture<PostgresShimFactory>;

public abstract class EventStreamTestsBase(ShimFactory factory)
{
    private const string TwoSteps = """
        {
          "definitionId": "evented",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "hello", "type": "ModelServeShim.Log", "inputs": { "message": "hello" } },
              { "id": "flaky", "type": "ModelServeShim.Fail", "inputs": { "failAttempts": 1, "errorType": "Flaky" },
                "retry": { "maxAttempts": 2, "delay": "10ms", "backoff": "constant" } }
            ],
            "connections": [ { "source": { "activity": "hello" }, "target": { "activity": "flaky" } } ]
          }
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    private EventBroadcaster Broadcaster => factory.Services.GetRequiredService<EventBroadcaster>();

    [Fact]
    public async Task Stream_HasEventStreamHeaders()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await OpenAsync(_client, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
    }

    [Fact]
    public async Task Execute_StreamsDefinitionThenInstanceAndStepEventsInOrder()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await OpenAsync(_client, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var saved = await _client.SaveDefinitionAsync(TwoSteps);
        var version = (int)saved["definition"]!["version"]!;
        var id = await _client.ExecuteAsync("evented");

        var events = new List<(string Event, JsonNode Data)>();
        while (!events.Any(e => e.Event == "instance" && (string?)e.Data["instanceId"] == id && (string)e.Data["status"]! == "Completed"))
        {
            var e = await reader.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("The stream ended.");
            events.Add((e.Event, JsonNode.Parse(e.Data)!));
        }

        // With PostgreSQL events reach the stream through the database, so another test's definition event published just
        // before this stream opened may arrive on it too: only this definition's is counted.
        var definition = Assert.Single(events, e => e.Event == "definition" && (string?)e.Data["definitionId"] == "evented");
        Assert.Equal(version, (int)definition.Data["version"]!);

        var mine = events.Where(e => e.Event is "instance" or "step" && (string?)e.Data["instanceId"] == id).ToList();
        var timeline = mine.Select(e => e.Event == "instance"
            ? $"instance:{e.Data["status"]}"
            : $"step:{e.Data["activityId"]}#{e.Data["attempt"]}:{e.Data["status"]}").ToList();
        // The runtime reports Running once the start is committed, which is in the batch of the first steps' starts.
        Assert.Equal("instance:Pending", timeline[0]);
        Assert.Equal(["instance:Pending", "instance:Running", "instance:Completed"], timeline.Where(t => t.StartsWith("instance:", StringComparison.Ordinal)));
        var steps = timeline.Where(t => t.StartsWith("step:", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            ["step:hello#1:Running", "step:hello#1:Succeeded", "step:flaky#1:Running", "step:flaky#1:Failed", "step:flaky#2:Running", "step:flaky#2:Succeeded"],
            steps);
        Assert.True(timeline.IndexOf("instance:Running") < timeline.IndexOf("step:flaky#1:Running"), string.Join(", ", timeline));

        var instance = mine.First(e => e.Event == "instance").Data;
        Assert.Equal("evented", (string)instance["definitionId"]!);
        Assert.Equal(version, (int)instance["definitionVersion"]!);
        var failed = mine.Single(e => e.Event == "step" && (string)e.Data["status"]! == "Failed").Data;
        Assert.Equal("evented", (string)failed["definitionId"]!);
        Assert.Equal("ModelServeShim.Fail", (string)failed["activityType"]!);
        Assert.Equal("Flaky", (string?)failed["errorType"]);
        Assert.False((bool)failed["isFinal"]!);
        Assert.NotNull(failed["endedAt"]);
        Assert.True((double)failed["durationMs"]! >= 0);
        Assert.Null(mine.First(e => e.Event == "step").Data["endedAt"]);
    }

    [Fact]
    public async Task Disconnect_RemovesTheSubscriber()
    {
        // This class's factory is its own and only GET /events subscribes: once the streams earlier tests closed are
        // gone (their removal runs when the server sees the disconnect), the count is this test's alone.
        await Poll.UntilAsync(() => Task.FromResult(Broadcaster.SubscriberCount == 0 ? "" : null), "earlier tests' streams to be removed", TimeSpan.FromSeconds(10));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var response = await OpenAsync(_client, timeout.Token);
        Assert.Equal(1, Broadcaster.SubscriberCount);

        response.Dispose();

        await Poll.UntilAsync(() => Task.FromResult(Broadcaster.SubscriberCount == 0 ? "" : null), "the subscriber to be removed", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Delete_StreamsADefinitionEvent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var saved = await _client.SaveDefinitionAsync(TwoSteps.Replace("evented", "evented-deleted", StringComparison.Ordinal));
        using var response = await OpenAsync(_client, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        await _client.DeleteAsync("/api/v1/workflow-definitions/evented-deleted").ExpectAsync(HttpStatusCode.NoContent);

        ServerSentEvent? e;
        do
        {
            e = await reader.ReadAsync(timeout.Token);
        }
        while (e is not null && e.Event != "definition");
        Assert.NotNull(e);
        var data = JsonNode.Parse(e.Data)!;
        Assert.Equal("evented-deleted", (string)data["definitionId"]!);
        Assert.Equal((int)saved["definition"]!["version"]!, (int)data["version"]!);
    }

    [Fact]
    public async Task Reconnect_WithLastEventId_GetsWhatWasPublishedMeanwhile_Once()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string lastId;
        using (var first = await OpenAsync(_client, timeout.Token))
        using (var reader = new ServerSentEventReader(await first.Content.ReadAsStreamAsync(timeout.Token)))
        {
            await _client.SaveDefinitionAsync(TwoSteps.Replace("evented", "resume-before", StringComparison.Ordinal));
            lastId = (await ReadDefinitionAsync(reader, "resume-before", timeout.Token)).Id!;
        }

        for (var i = 1; i <= 3; i++)
        {
            await _client.SaveDefinitionAsync(TwoSteps.Replace("evented", "resume-gap", StringComparison.Ordinal).Replace("\"message\": \"hello\"", $"\"message\": \"hello {i}\"", StringComparison.Ordinal));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
        request.Headers.Add("Last-Event-ID", lastId);
        using var resumed = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var again = new ServerSentEventReader(await resumed.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<ServerSentEvent>();
        while (events.Count(e => e.Event == "definition" && (string?)JsonNode.Parse(e.Data)!["definitionId"] == "resume-gap") < 3)
        {
            events.Add(await again.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("The stream ended."));
        }

        Assert.DoesNotContain(events, e => e.Event == "reset" || (e.Event == "definition" && (string?)JsonNode.Parse(e.Data)!["definitionId"] == "resume-before"));
        var ids = events.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order().Distinct(), ids);
        Assert.True(ids[0] > long.Parse(lastId, System.Globalization.CultureInfo.InvariantCulture));
        var versions = events.Where(e => e.Event == "definition").Select(e => (int)JsonNode.Parse(e.Data)!["version"]!).ToList();
        Assert.Equal(Enumerable.Range(versions[0], 3), versions);
    }

    [Fact]
    public async Task Resume_FromAnUnknownSequence_SendsAResetWithTheLatestId()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _client.SaveDefinitionAsync(TwoSteps.Replace("evented", "reset-me", StringComparison.Ordinal));
        using var response = await OpenAsync(_client, timeout.Token, "?afterSequence=9000000000000000");
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var reset = await reader.ReadAsync(timeout.Token);

        Assert.Equal("reset", reset!.Event);
        var data = JsonNode.Parse(reset.Data)!;
        Assert.Equal(9000000000000000, (long)data["requestedAfter"]!);
        Assert.Equal(data["latest"]!.ToString(), reset.Id);
        Assert.True((long)data["latest"]! > 0);
    }

    [Theory]
    [InlineData("?afterSequence=abc", null, "afterSequence")]
    [InlineData("?afterSequence=-1", null, "afterSequence")]
    [InlineData("", "yesterday", "Last-Event-ID")]
    public async Task BadResumePoint_Is400NamingIt(string query, string? header, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events" + query);
        if (header is not null)
        {
            request.Headers.Add("Last-Event-ID", header);
        }

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(field, (string)problem["errors"]![0]!["path"]!);
    }

    private static async Task<ServerSentEvent> ReadDefinitionAsync(ServerSentEventReader reader, string definitionId, CancellationToken ct)
    {
        while (true)
        {
            var e = await reader.ReadAsync(ct) ?? throw new InvalidOperationException("The stream ended.");
            if (e.Event == "definition" && (string?)JsonNode.Parse(e.Data)!["definitionId"] == definitionId)
            {
                return e;
            }
        }
    }

    /// <summary>Opens the stream; the headers have arrived when this returns.</summary>
    internal static async Task<HttpResponseMessage> OpenAsync(HttpClient client, CancellationToken cancellationToken, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events" + query);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
