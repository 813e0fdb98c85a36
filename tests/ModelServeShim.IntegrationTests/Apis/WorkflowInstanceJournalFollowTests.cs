using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

/// <summary><c>GET /api/v1/workflow-instances/{id}/journal?follow=true</c>: the journal as server-sent events until the instance ends.</summary>
public sealed class WorkflowInstanceJournalFollowTests(ShimFactory factory) : WorkflowInstanceJournalFollowTestsBase(factory), IClassFixture<ShimFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class WorkflowInstanceJournalFollowPostgresTests(PostgresShimFactory factory) : WorkflowInstanceJournalFollowTestsBase(factory), IClassFixture<PostgresShimFactory>;

public abstract class WorkflowInstanceJournalFollowTestsBase(ShimFactory factory)
{
    private const string Slow = """
        {
          "definitionId": "follow-me",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "first", "type": "ModelServeShim.Log", "inputs": { "message": "one" } },
              { "id": "pause", "type": "ModelServeShim.Delay", "inputs": { "duration": "700ms" } },
              { "id": "last", "type": "ModelServeShim.Log", "inputs": { "message": "two" } }
            ],
            "connections": [
              { "source": { "activity": "first" }, "target": { "activity": "pause" } },
              { "source": { "activity": "pause" }, "target": { "activity": "last" } }
            ]
          }
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Follow_StreamsJournalEventsInOrder_AndEndsWhenTheInstanceFinishes()
    {
        await _client.SaveDefinitionAsync(Slow);
        var id = await _client.ExecuteAsync("follow-me");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var response = await _client.SendAsync(Follow(id), HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        var events = await ServerSentEventReader.ReadAllAsync(response, timeout.Token);
        Assert.Equal("end", events[^1].Event);
        var journal = events.SkipLast(1).ToList();
        Assert.All(journal, e => Assert.Equal("journal", e.Event));
        var entries = journal.Select(e => JsonNode.Parse(e.Data)!).ToList();
        var sequences = entries.Select(e => (long)e["sequence"]!).ToList();
        Assert.Equal(journal.Select(e => e.Id), sequences.Select(s => s.ToString(CultureInfo.InvariantCulture)));
        Assert.Contains(entries, e => (string)e["event"]! == "StepCompleted" && (string?)e["activityId"] == "last");

        // Everything streamed is what the stored journal holds, in the same order, without gaps or repeats.
        var stored = await _client.JournalAsync(id, "?pageSize=1000");
        Assert.Equal(stored.Select(e => (long)e!["sequence"]!), sequences);
    }

    [Fact]
    public async Task Follow_OfFinishedInstance_ReplaysAfterTheSequence_AndEnds()
    {
        await _client.SaveDefinitionAsync(Slow);
        var id = await _client.ExecuteAsync("follow-me");
        await _client.WaitForStatusAsync(id, "Completed");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));

        using var response = await _client.SendAsync(Follow(id, afterSequence: 2), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var events = await ServerSentEventReader.ReadAllAsync(response, timeout.Token);

        Assert.Equal("end", events[^1].Event);
        Assert.NotEmpty(events.SkipLast(1));
        Assert.All(events.SkipLast(1), e => Assert.True(long.Parse(e.Id!, CultureInfo.InvariantCulture) > 2));
        Assert.Equal(
            (await _client.JournalAsync(id, "?afterSequence=2&pageSize=1000")).Select(e => ((long)e!["sequence"]!).ToString(CultureInfo.InvariantCulture)),
            events.SkipLast(1).Select(e => e.Id));
    }

    [Fact]
    public async Task Follow_OfUnknownInstance_Returns404Problem()
    {
        var response = await _client.SendAsync(Follow("no-such-instance")).ExpectAsync(HttpStatusCode.NotFound);

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-such-instance", (string)(await response.ReadJsonAsync())["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Journal_WithoutFollow_IsStillAPage()
    {
        await _client.SaveDefinitionAsync(Slow);
        var id = await _client.ExecuteAsync("follow-me");
        await _client.WaitForStatusAsync(id, "Completed");

        var page = await (await _client.GetAsync($"/api/v1/workflow-instances/{id}/journal?follow=false").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.True((int)page["total"]! >= 6);
        Assert.Equal((int)page["total"]!, page["items"]!.AsArray().Count);
    }

    private static HttpRequestMessage Follow(string id, long afterSequence = 0)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/workflow-instances/{id}/journal?follow=true&afterSequence={afterSequence}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }
}
