using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Apis;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Testing.Postgres;
using ModelServeShim.Workflows.Persistence;
using Npgsql;

namespace ModelServeShim.IntegrationTests.State;

/// <summary>
/// Two control planes (real in-process hosts) on one PostgreSQL database: what replica B publishes — definitions,
/// instances and steps, services, journal entries — reaches replica A's streams through <c>server_events</c> and the
/// notifications, a stream resumes by sequence without losing or repeating anything, and a killed listening connection
/// is replaced without losing an event.
/// </summary>
public sealed class ClusterEventsTests : IClassFixture<ClusterEventsTests.TwoReplicas>
{
    private const string Slow = """
        {
          "definitionId": "cluster-follow",
          "root": {
            "type": "Flowchart",
            "activities": [
              { "id": "first", "type": "ModelServeShim.Log", "inputs": { "message": "one" } },
              { "id": "pause", "type": "ModelServeShim.Delay", "inputs": { "duration": "1500ms" } },
              { "id": "last", "type": "ModelServeShim.Log", "inputs": { "message": "two" } }
            ],
            "connections": [
              { "source": { "activity": "first" }, "target": { "activity": "pause" } },
              { "source": { "activity": "pause" }, "target": { "activity": "last" } }
            ]
          }
        }
        """;

    private readonly TwoReplicas _replicas;
    private readonly HttpClient _a;
    private readonly HttpClient _b;

    public ClusterEventsTests(TwoReplicas replicas)
    {
        _replicas = replicas;
        _a = replicas.A.CreateClient();
        _b = replicas.B.CreateClient();
    }

    [Fact]
    public async Task DefinitionInstanceAndStepEvents_PublishedOnB_ReachTheStreamOfA()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await EventStreamTests.OpenAsync(_a, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var saved = await _b.SaveDefinitionAsync(Definition("from-b"));
        var id = await _b.ExecuteAsync("from-b");

        var events = await ReadUntilAsync(reader, e => e.Event == "instance" && Data(e)["instanceId"]?.GetValue<string>() == id
            && Data(e)["status"]?.GetValue<string>() == "Completed", timeout.Token);

        var definition = Assert.Single(events, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "from-b");
        Assert.Equal((int)saved["definition"]!["version"]!, (int)Data(definition)["version"]!);
        var steps = events.Where(e => e.Event == "step" && Data(e)["instanceId"]?.GetValue<string>() == id).Select(Data).ToList();
        Assert.Equal(["hello:Running", "hello:Succeeded"], steps.Select(s => $"{s["activityId"]}:{s["status"]}"));
        Assert.Equal("from-b", (string)steps[0]["definitionId"]!);
        Assert.Equal("ModelServeShim.Log", (string)steps[0]["activityType"]!);
        Assert.Equal(["Pending", "Running", "Completed"],
            events.Where(e => e.Event == "instance" && Data(e)["instanceId"]?.GetValue<string>() == id).Select(e => (string)Data(e)["status"]!));
        AssertIncreasingIds(events);

        // B's own stream has the same events under the same sequence numbers: one numbering for the cluster.
        var fromB = await ReadFromAsync(_b, long.Parse(events[0].Id!, CultureInfo.InvariantCulture) - 1, events.Count, timeout.Token);
        Assert.Equal(events.Select(e => (e.Id, e.Event, e.Data)), fromB.Select(e => (e.Id, e.Event, e.Data)));
    }

    [Fact]
    public async Task ServiceDeployedThroughB_ShowsOnTheStreamOfA()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await EventStreamTests.OpenAsync(_a, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var serviceId = await _b.DeployAsync(ModServClient.Body("cluster-model"));

        var events = await ReadUntilAsync(reader, e => e.Event == "service" && Data(e)["serviceId"]?.GetValue<string>() == serviceId
            && Data(e)["state"]?.GetValue<string>() == "Running", timeout.Token);
        var states = events.Where(e => e.Event == "service" && Data(e)["serviceId"]?.GetValue<string>() == serviceId).Select(Data).ToList();
        Assert.Equal(["Initializing", "PipelineRunning", "Deploying", "HealthChecking", "Running"], states.Select(s => (string)s["state"]!).Distinct());
        Assert.Equal("cluster-model", (string)states[0]["modelName"]!);
        Assert.NotNull((string?)states[^1]["endpoint"]);
    }

    [Fact]
    public async Task ServiceDeployedThroughB_IsServedByTheGatewayOfA_WithoutWaitingForThePeriodicReread()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // A's gateway has loaded its service list (and would not re-read it for an hour) before B deploys.
        Assert.DoesNotContain("gateway-from-b", await ModelIdsAsync(_a, timeout.Token));
        using var response = await EventStreamTests.OpenAsync(_a, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var serviceId = await _b.DeployAsync(ModServClient.Body("gateway-from-b"));
        await ReadUntilAsync(reader, e => e.Event == "service" && Data(e)["serviceId"]?.GetValue<string>() == serviceId
            && Data(e)["state"]?.GetValue<string>() == "Running", timeout.Token);

        // The event reached A; its gateway reads the service again in the background, at once.
        while (!(await ModelIdsAsync(_a, timeout.Token)).Contains("gateway-from-b"))
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    private static async Task<List<string>> ModelIdsAsync(HttpClient client, CancellationToken ct)
    {
        var models = JsonNode.Parse(await (await client.GetAsync("/v1/models", ct).ExpectAsync(HttpStatusCode.OK)).Content.ReadAsStringAsync(ct))!;
        return [.. models["data"]!.AsArray().Select(m => (string)m!["id"]!)];
    }

    [Fact]
    public async Task JournalFollowOnA_ForAnInstanceRunByB_StreamsItsEntriesLive_AndEnds()
    {
        await _b.SaveDefinitionAsync(Slow);
        var id = await _b.ExecuteAsync("cluster-follow");
        // Less than the follow's 15 s keep-alive (when it also looks at the store): the entries must come from B's notifications.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        // Opened while B runs the instance: the entries after the delay are written by B after the follow started on A.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/workflow-instances/{id}/journal?follow=true");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await _a.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await ServerSentEventReader.ReadAllAsync(response, timeout.Token);

        Assert.Equal("end", events[^1].Event);
        var entries = events.SkipLast(1).Select(Data).ToList();
        Assert.Contains(entries, e => (string)e["event"]! == "StepCompleted" && (string?)e["activityId"] == "last");
        var stored = await _b.JournalAsync(id, "?pageSize=1000");
        Assert.Equal(stored.Select(e => (long)e!["sequence"]!), entries.Select(e => (long)e["sequence"]!));
    }

    [Fact]
    public async Task Reconnect_WithLastEventId_GetsEverythingPublishedMeanwhile_Once()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string lastId;
        using (var first = await EventStreamTests.OpenAsync(_a, timeout.Token))
        using (var reader = new ServerSentEventReader(await first.Content.ReadAsStreamAsync(timeout.Token)))
        {
            await _b.SaveDefinitionAsync(Definition("before-gap"));
            var seen = await ReadUntilAsync(reader, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "before-gap", timeout.Token);
            lastId = seen[^1].Id!;
        }

        // Disconnected: B publishes ten definition versions.
        for (var i = 0; i < 10; i++)
        {
            await _b.SaveDefinitionAsync(Definition("in-the-gap", $"version {i}"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
        request.Headers.Add("Last-Event-ID", lastId);
        using var resumed = await _a.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var again = new ServerSentEventReader(await resumed.Content.ReadAsStreamAsync(timeout.Token));
        var count = 0;
        var events = await ReadUntilAsync(again, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "in-the-gap" && ++count == 10, timeout.Token);

        Assert.DoesNotContain(events, e => e.Event == "reset");
        Assert.All(events, e => Assert.True(long.Parse(e.Id!, CultureInfo.InvariantCulture) > long.Parse(lastId, CultureInfo.InvariantCulture)));
        Assert.DoesNotContain(events, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "before-gap");
        var versions = events.Where(e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "in-the-gap").Select(e => (int)Data(e)["version"]!).ToList();
        Assert.Equal(Enumerable.Range(versions[0], 10), versions);
        AssertIncreasingIds(events);

        // The same through ?afterSequence= on the other replica.
        var viaQuery = await ReadFromAsync(_b, long.Parse(lastId, CultureInfo.InvariantCulture), events.Count, timeout.Token);
        Assert.Equal(events.Select(e => (e.Id, e.Data)), viaQuery.Select(e => (e.Id, e.Data)));
    }

    [Fact]
    public async Task Pruning_KeepsTheNewestMaxRetained_AndAResumeFromBeforeThemIsAReset()
    {
        // B publishes more than Events:MaxRetained (1000 in this fixture) through its broadcaster.
        var b = _replicas.B.Services.GetRequiredService<EventBroadcaster>();
        for (var i = 0; i < 1050; i++)
        {
            b.OnInstanceChanged(new InstanceRecord { Id = $"prune-{i}", DefinitionId = "prune", DefinitionVersion = 1, Status = InstanceStatus.Running });
        }

        var log = Assert.IsType<PostgresEventLog>(_replicas.A.Services.GetRequiredService<EventLog>());
        await Poll.UntilAsync(async () => await ScalarAsync("""SELECT count(*) FROM server_events WHERE "Data" LIKE '%"prune-1049"%'""") == 1 ? "" : null,
            "B's events to be stored", TimeSpan.FromSeconds(20));
        var oldest = await ScalarAsync("""SELECT min("Id") FROM server_events""");
        var newest = await ScalarAsync("""SELECT max("Id") FROM server_events""");

        await log.PruneAsync(default);

        // The replicas may publish more meanwhile (health checks), so the bounds are checked against what was there before.
        Assert.Equal(0, await ScalarAsync($"""SELECT count(*) FROM server_events WHERE "Id" <= {newest - 1000}"""));
        Assert.True(await ScalarAsync("""SELECT count(*) FROM server_events""") >= 1000);
        var kept = await ScalarAsync("""SELECT min("Id") FROM server_events""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using (var response = await EventStreamTests.OpenAsync(_a, timeout.Token, $"?afterSequence={oldest}"))
        using (var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token)))
        {
            var reset = await reader.ReadAsync(timeout.Token);

            Assert.Equal("reset", reset!.Event);
            Assert.Equal(oldest, (long)Data(reset)["requestedAfter"]!);
            Assert.True((long)Data(reset)["latest"]! >= newest);
            Assert.Equal(Data(reset)["latest"]!.ToString(), reset.Id);
        }

        // From just before the oldest kept, everything kept comes back, in order.
        var resumed = await ReadFromAsync(_a, kept - 1, 100, timeout.Token);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (kept + i).ToString(CultureInfo.InvariantCulture)), resumed.Select(e => e.Id));
    }

    [Fact]
    public async Task ListeningConnectionKilled_IsReplaced_AndNoEventIsLost()
    {
        var log = Assert.IsType<PostgresEventLog>(_replicas.A.Services.GetRequiredService<EventLog>());
        await Poll.UntilAsync(() => Task.FromResult(log.ListenerConnections >= 1 ? "" : null), "A's listener", TimeSpan.FromSeconds(10));
        var before = log.ListenerConnections;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        using var response = await EventStreamTests.OpenAsync(_a, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        // Every listening connection of both replicas is terminated by the server, as an administrator or a fail-over would.
        var killed = await ScalarAsync(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'model-serve-shim/event-listener' AND datname = current_database()""");
        Assert.True(killed >= 2, $"{killed} listening connections terminated");
        for (var i = 0; i < 5; i++)
        {
            await _b.SaveDefinitionAsync(Definition("while-relistening", $"version {i}"));
        }

        var count = 0;
        var events = await ReadUntilAsync(reader, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "while-relistening" && ++count == 5, timeout.Token);
        await Poll.UntilAsync(() => Task.FromResult(log.ListenerConnections > before ? "" : null), "A to listen again", TimeSpan.FromSeconds(20));

        var versions = events.Where(e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "while-relistening").Select(e => (int)Data(e)["version"]!).ToList();
        Assert.Equal(Enumerable.Range(versions[0], 5), versions);
        AssertIncreasingIds(events);

        // After the reconnection, notifications work again: B's next event reaches A well before a fallback poll would matter.
        await _b.SaveDefinitionAsync(Definition("after-relistening"));
        await ReadUntilAsync(reader, e => e.Event == "definition" && Data(e)["definitionId"]?.GetValue<string>() == "after-relistening", timeout.Token);
    }

    private static string Definition(string id, string message = "hello") => $$"""
        {
          "definitionId": "{{id}}",
          "root": { "type": "Flowchart", "activities": [ { "id": "hello", "type": "ModelServeShim.Log", "inputs": { "message": "{{message}}" } } ] }
        }
        """;

    private static JsonNode Data(ServerSentEvent e) => JsonNode.Parse(e.Data)!;

    private static void AssertIncreasingIds(List<ServerSentEvent> events)
    {
        var ids = events.Select(e => long.Parse(e.Id!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    private static async Task<List<ServerSentEvent>> ReadUntilAsync(ServerSentEventReader reader, Func<ServerSentEvent, bool> until, CancellationToken ct)
    {
        var events = new List<ServerSentEvent>();
        while (true)
        {
            var e = await reader.ReadAsync(ct) ?? throw new InvalidOperationException("The stream ended.");
            events.Add(e);
            if (until(e))
            {
                return events;
            }
        }
    }

    private static async Task<List<ServerSentEvent>> ReadFromAsync(HttpClient client, long after, int count, CancellationToken ct)
    {
        using var response = await EventStreamTests.OpenAsync(client, ct, $"?afterSequence={after.ToString(CultureInfo.InvariantCulture)}");
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(ct));
        var events = new List<ServerSentEvent>();
        while (events.Count < count)
        {
            events.Add(await reader.ReadAsync(ct) ?? throw new InvalidOperationException("The stream ended."));
        }

        return events;
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_replicas.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Two active-active hosts on one database: each runs the instances started through it.
    /// </summary>
    public sealed class TwoReplicas : IAsyncLifetime
    {
        private readonly IReadOnlyList<KeyValuePair<string, string>> _state = PostgresState.NewDatabase("cluster");

        public TwoReplicas()
        {
            A = new Replica(_state);
            B = new Replica(_state);
            var csb = new NpgsqlConnectionStringBuilder(_state.Single(s => s.Key == "State:ConnectionString").Value) { Password = PostgresCluster.Shared.Password };
            ConnectionString = csb.ConnectionString;
        }

        public Replica A { get; }

        public Replica B { get; }

        public string ConnectionString { get; }

        public async Task InitializeAsync()
        {
            await ((IAsyncLifetime)A).InitializeAsync();
            await ((IAsyncLifetime)B).InitializeAsync();
            _ = A.Services; // started one after the other: A migrates the database first
            _ = B.Services;
        }

        public async Task DisposeAsync()
        {
            await ((IAsyncLifetime)B).DisposeAsync();
            await ((IAsyncLifetime)A).DisposeAsync();
        }
    }

    /// <summary>A replica: the ModServ host (test shimlet, sample model) on the shared database.</summary>
    public sealed class Replica(IReadOnlyList<KeyValuePair<string, string>> state) : ModServFactory
    {
        // The test shimlet as default: a replica whose default is the local shimlet refuses to run beside another one.
        protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
            [.. state, new("ModelServeShim:Shimlet", "test"), new("Events:MaxRetained", "1000"), new("Gateway:ServiceListRefreshInterval", "01:00:00")];
    }
}
