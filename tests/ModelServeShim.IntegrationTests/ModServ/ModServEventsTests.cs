using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Apis;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary><c>GET /api/v1/events</c> during a deployment: a <c>service</c> event on every stored change of the service.</summary>
public sealed class ModServEventsTests(ModServFactory factory) : ModServEventsTestsBase(factory), IClassFixture<ModServFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class ModServEventsPostgresTests(PostgresModServFactory factory) : ModServEventsTestsBase(factory), IClassFixture<PostgresModServFactory>;

public abstract class ModServEventsTestsBase(ModServFactory factory)
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Deploy_StreamsServiceEventsWithEachNewState_ThenScale()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await EventStreamTests.OpenAsync(_client, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var serviceId = await _client.DeployAsync(ModServClient.Body("evented-model"));
        var states = await ReadServiceEventsAsync(reader, serviceId, s => (string)s["state"]! == "Running", timeout.Token);

        Assert.Equal("Initializing", (string)states[0]["state"]!);
        Assert.Equal("evented-model", (string)states[0]["modelName"]!);
        Assert.Equal("anonymous", (string)states[0]["createdBy"]!);
        var distinct = states.Select(s => (string)s["state"]!).Distinct().ToList();
        Assert.Equal(["Initializing", "PipelineRunning", "Deploying", "HealthChecking", "Running"], distinct);
        Assert.NotNull((string?)states[^1]["endpoint"]);

        await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(System.Net.HttpStatusCode.OK);
        // The new replica count and the move to Scaling are one write (one event), then the scale pipeline's end.
        var scaled = await ReadServiceEventsAsync(reader, serviceId, s => (int)s["replicas"]! == 2 && (string)s["state"]! == "Running", timeout.Token);
        var afterScale = scaled.SkipWhile(s => (int)s["replicas"]! != 2).Select(s => (string)s["state"]!).Distinct().ToList();
        Assert.Equal(["Scaling", "Running"], afterScale);
    }

    private static async Task<List<JsonNode>> ReadServiceEventsAsync(ServerSentEventReader reader, string serviceId, Func<JsonNode, bool> until, CancellationToken ct)
    {
        var seen = new List<JsonNode>();
        while (seen.Count == 0 || !until(seen[^1]))
        {
            var e = await reader.ReadAsync(ct) ?? throw new InvalidOperationException("The stream ended.");
            if (e.Event == "service" && JsonNode.Parse(e.Data) is { } data && (string)data["serviceId"]! == serviceId)
            {
                seen.Add(data);
            }
        }

        return seen;
    }
}
