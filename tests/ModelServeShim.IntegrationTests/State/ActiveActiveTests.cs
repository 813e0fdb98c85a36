using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Approval;
using ModelServeShim.IntegrationTests.CrashResume;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Models.SampleModels;
using ModelServeShim.Testing.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.State;

/// <summary>
/// Real server processes on one PostgreSQL database, all serving and running instances (docs/ha.md): deploys sent to
/// every replica, one replica SIGKILLed mid-step and its instances taken over by the survivors once its lease expires,
/// a long step interrupted and run again elsewhere, conflicting requests on two replicas, a cancel that lands on the
/// replica that does not run the pipeline.
/// </summary>
[Collection(nameof(CrashResumeCollection))]
public sealed class ActiveActiveTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>The lease of the default settings (Replicas:LeaseTtl).</summary>
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);
    private const string SlowPipeline = "slow-llm";
    private const int Deploys = 300;
    private readonly TempDirectory _root = new("mss-active");
    private readonly List<ShimProcess> _processes = [];
    private readonly List<HttpClient> _clients = [];
    private string _models = "";
    private string _workflows = "";

    public async Task InitializeAsync()
    {
        _models = _root.Sub("models");
        _workflows = _root.Sub("workflows");
        await SampleModelGenerator.WriteToDirectoryAsync(Path.Combine(_models, "sample"));
    }

    public Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            var text = process.Output;
            output.WriteLine($"--- server pid {process.Id} output (last 6000 chars) ---\n{(text.Length > 6000 ? text[^6000..] : text)}");
            process.Dispose();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _root.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ThreeReplicas_300DeploysRoundRobin_OneKilledMidStep_EveryInstanceEndsOnTheSurvivors()
    {
        WriteSlowPipeline("3s");
        var database = Database("three");
        var replicas = await StartReplicasAsync(database, 3);

        // Round-robin, a few at a time, like a load balancer in front of the three.
        var owners = new string[Deploys];
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Deploys), new ParallelOptions { MaxDegreeOfParallelism = 9 }, async (i, _) =>
        {
            var body = ModServClient.Body($"rr-{i}", dryRun: true);
            body["shimlet"] = "local";
            body["pipeline"] = SlowPipeline;
            owners[i] = await replicas[i % 3].Client.DeployAsync(body);
        });
        output.WriteLine($"{Deploys} deploys accepted in {watch.Elapsed.TotalSeconds:0.0} s");

        var victim = replicas[2];
        await using var db = DataSource(database);
        var victimId = await Poll.UntilAsync(
            async () => await ScalarAsync<string?>(db, """
                SELECT i."Owner" FROM workflow_instances i JOIN step_executions s ON s."InstanceId" = i."Id"
                WHERE i."Owner" LIKE $1 AND s."ActivityId" = 'pause' AND s."Status" = 'Running' LIMIT 1
                """, $"%/{victim.Process.Id}/%"),
            "the third replica to run pause steps", TimeSpan.FromSeconds(30));
        victim.Process.Kill();
        var clock = Stopwatch.StartNew();

        // What the killed replica left (read right after the kill; nobody takes it over before its lease expires).
        var orphaned = await ListAsync(db, """SELECT "Id" FROM workflow_instances WHERE "Owner" = $1 AND "Status" IN ('Pending', 'Running')""", victimId);
        var midStep = await ScalarAsync<long>(db, """
            SELECT count(*) FROM step_executions s JOIN workflow_instances i ON i."Id" = s."InstanceId" WHERE i."Owner" = $1 AND s."Status" = 'Running'
            """, victimId);
        output.WriteLine($"SIGKILLed replica {victimId} with {orphaned.Count} unfinished instance(s), {midStep} step(s) mid-run");
        Assert.NotEmpty(orphaned);

        var firstResumed = (TimeSpan)await Poll.UntilAsync(
            async () => await ScalarAsync<long>(db, """SELECT count(*) FROM workflow_instances WHERE "Id" = ANY($1) AND "ResumeCount" > 0""", (object)orphaned.ToArray()) > 0
                ? (object?)clock.Elapsed : null,
            "a survivor to resume one of the killed replica's instances", LeaseTtl + TimeSpan.FromSeconds(10));
        var allEnded = (TimeSpan)await Poll.UntilAsync(
            async () => await ScalarAsync<long>(db, """SELECT count(*) FROM workflow_instances WHERE "Status" IN ('Pending', 'Running', 'Suspended')""") == 0
                ? (object?)clock.Elapsed : null,
            "every instance to end", LeaseTtl + TimeSpan.FromSeconds(10),
            () => string.Join(", ", _processes.Select(p => p.HasExited ? "exited" : "running")));
        output.WriteLine($"Fail-over: first instance resumed on a survivor {firstResumed.TotalSeconds:0.0} s after the SIGKILL; every instance ended {allEnded.TotalSeconds:0.0} s after it");

        Assert.Equal(Deploys, await ScalarAsync<long>(db, """SELECT count(*) FROM workflow_instances WHERE "Status" = 'Completed' AND "DefinitionId" = $1""", SlowPipeline));
        Assert.Equal(0, await ScalarAsync<long>(db, """SELECT count(*) FROM workflow_instances WHERE "Owner" = $1 AND "Status" <> 'Completed'""", victimId));
        var survivors = await ListAsync(db, """SELECT DISTINCT "Owner" FROM workflow_instances WHERE "Id" = ANY($1)""", (object)orphaned.ToArray());
        Assert.DoesNotContain(victimId, survivors);

        // Exactly once for every step that completed; at most twice (an Interrupted attempt, then the re-run) for a step in flight.
        var succeededTwice = await ScalarAsync<long>(db, """
            SELECT count(*) FROM (SELECT 1 FROM step_executions WHERE "Status" = 'Succeeded' GROUP BY "InstanceId", "ActivityId" HAVING count(*) > 1) t
            """);
        var ranThrice = await ScalarAsync<long>(db, """
            SELECT count(*) FROM (SELECT 1 FROM step_executions GROUP BY "InstanceId", "ActivityId" HAVING count(*) > 2) t
            """);
        var interruptedElsewhere = await ScalarAsync<long>(db, """SELECT count(*) FROM step_executions WHERE "Status" = 'Interrupted' AND NOT ("InstanceId" = ANY($1))""", (object)orphaned.ToArray());
        var interrupted = await ScalarAsync<long>(db, """SELECT count(*) FROM step_executions WHERE "Status" = 'Interrupted'""");
        output.WriteLine($"Interrupted attempts: {interrupted}");
        Assert.Equal(0, succeededTwice);
        Assert.Equal(0, ranThrice);
        Assert.Equal(0, interruptedElsewhere);
        Assert.True(interrupted >= midStep, $"{interrupted} Interrupted attempt(s) recorded for {midStep} step(s) in flight at the kill");

        // The services follow their pipelines (a dry run ends Stopped), whichever replica ran or finished them.
        await Poll.UntilAsync(
            async () => await ScalarAsync<long>(db, """SELECT count(*) FROM model_services WHERE "State" = 'Stopped'""") == Deploys ? "ok" : null,
            "every service to be Stopped", TimeSpan.FromSeconds(60),
            () => string.Join(", ", owners.Take(3)));
    }

    [Fact]
    public async Task SseOfReplicaA_ShowsServiceDeployedThroughB()
    {
        WriteSlowPipeline("1s");
        var replicas = await StartReplicasAsync(Database("sse"), 2);
        using var stream = await replicas[0].Client.GetStreamAsync("/api/v1/events");
        using var events = new ServerSentEventReader(stream);

        var body = ModServClient.Body("through-b", dryRun: true);
        body["shimlet"] = "local";
        var serviceId = await replicas[1].Client.DeployAsync(body);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var seen = new List<string>();
        try
        {
            while (await events.ReadAsync(timeout.Token) is { } e)
            {
                seen.Add(e.Event);
                if (e.Data.Contains(serviceId, StringComparison.Ordinal))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below.
        }

        Assert.Fail($"Replica A's event stream never mentioned service {serviceId}, deployed through replica B (events seen: {string.Join(", ", seen)}).");
    }

    [Fact]
    public async Task LongDelayInterruptedAtSecond10_ResumesOnASurvivor_AndCompletes()
    {
        var replicas = await StartReplicasAsync(Database("delay"), 2);
        var (a, b) = (replicas[0], replicas[1]);
        await a.Client.SaveDefinitionAsync("""
            { "definitionId": "long-delay", "root": { "type": "Flowchart",
              "activities": [
                { "id": "first", "type": "ModelServeShim.Log", "inputs": { "message": "before the wait" } },
                { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": "30s" }, "timeout": "2m" },
                { "id": "last", "type": "ModelServeShim.Log", "inputs": { "message": "after the wait" } }
              ],
              "connections": [
                { "source": { "activity": "first" }, "target": { "activity": "wait" } },
                { "source": { "activity": "wait" }, "target": { "activity": "last" } }
              ] } }
            """);
        var id = await a.Client.ExecuteAsync("long-delay");
        await a.Client.WaitForInstanceAsync(id, d => d.StepsOf("wait").Any(s => (string?)s["status"] == "Running"), "waiting in its Delay step", TimeSpan.FromSeconds(10));
        var waitStarted = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(10));

        a.Process.Kill();
        var clock = Stopwatch.StartNew();
        output.WriteLine($"SIGKILLed replica A {waitStarted.Elapsed.TotalSeconds:0.0} s into the 30 s Delay step");
        var resumed = await b.Client.WaitForInstanceAsync(id, d => d.StepsOf("wait").Any(s => (int?)s["attempt"] == 2), "running its Delay step again on B",
            LeaseTtl + TimeSpan.FromSeconds(10));
        var takeover = clock.Elapsed;
        var detail = await b.Client.WaitForInstanceAsync(id, d => d.Status() is "Completed" or "Faulted" or "Cancelled", "finished on B",
            TimeSpan.FromSeconds(30) + LeaseTtl + TimeSpan.FromSeconds(20));
        output.WriteLine($"Delay step running again on B {takeover.TotalSeconds:0.0} s after the SIGKILL; instance completed {clock.Elapsed.TotalSeconds:0.0} s after it");

        Assert.Equal("Completed", detail.Status());
        Assert.Equal(["Interrupted", "Succeeded"], detail.StepsOf("wait").OrderBy(s => (int)s["attempt"]!).Select(s => (string)s["status"]!));
        Assert.Equal(["Succeeded"], detail.StepsOf("first").Select(s => (string)s["status"]!));
        Assert.Equal(["Succeeded"], detail.StepsOf("last").Select(s => (string)s["status"]!));
        Assert.Equal(1, (int)detail["instance"]!["resumeCount"]!);
        Assert.NotNull(resumed);
    }

    [Fact]
    public async Task ConflictingRequestsOnTwoReplicas_OneWins_TheOtherGets409_AndAnUndeployOnTheOtherCancelsThePipeline()
    {
        WriteSlowPipeline("6s");
        var replicas = await StartReplicasAsync(Database("conflict"), 2);
        var (a, b) = (replicas[0].Client, replicas[1].Client);
        var body = ModServClient.Body("conflict", dryRun: true);
        body["shimlet"] = "local";
        body["pipeline"] = SlowPipeline;
        var serviceId = await a.DeployAsync(body);
        await a.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromSeconds(30));

        // The same redeploy at once on both replicas: one starts the pipeline, the other is refused.
        var answers = await Task.WhenAll(
            a.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null),
            b.PostAsync($"{ModServClient.Base}/{serviceId}/redeploy", null));
        var codes = answers.Select(r => (int)r.StatusCode).Order().ToList();
        Assert.Equal([200, 409], codes);
        var envelope = await answers.Single(r => r.StatusCode == HttpStatusCode.Conflict).ReadJsonAsync();
        Assert.Equal(409, (int)envelope["code"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)envelope["message"]));

        // An undeploy sent to the replica that does not run the pipeline: its cancel reaches the owner, then undeploy runs.
        var instanceId = (string)(await a.GetServiceAsync(serviceId))["instanceId"]!;
        var winner = answers[0].StatusCode == HttpStatusCode.OK ? 0 : 1;
        var other = replicas[1 - winner].Client;
        await a.WaitForInstanceAsync(instanceId, d => d.StepsOf("pause").Any(s => (string?)s["status"] == "Running"), "in its pause step", TimeSpan.FromSeconds(20));
        var clock = Stopwatch.StartNew();
        await other.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        var cancelled = await a.WaitForStatusAsync(instanceId, "Cancelled", TimeSpan.FromSeconds(15));
        output.WriteLine($"Cancel asked on the other replica ended the pipeline {clock.Elapsed.TotalSeconds:0.0} s later");
        await a.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromSeconds(30));

        Assert.Contains("the service is being undeployed", (string?)cancelled["instance"]!["errorMessage"] ?? "", StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task SecondReplica_WithTheLocalShimletAsDefault_RefusesToRunBesideAnother()
    {
        string[] state = [.. PostgresState.NewDatabase("localreplica").Select(s => $"--{s.Key}={s.Value}")];
        var port = ShimProcess.FreePort();
        var first = Start(port, "a", state);
        await first.WaitUntilHealthyAsync(Client(port), StartupTimeout);

        var second = Start(ShimProcess.FreePort(), "b", state);
        var exitCode = await second.WaitForExitAsync(StartupTimeout);

        Assert.Equal(3, exitCode);
        Assert.Contains("cannot run beside it: the default shimlet is 'local'", second.Output, StringComparison.Ordinal);
        Assert.Contains("--shimlet=k8s", second.Output, StringComparison.Ordinal);
        Assert.False(first.HasExited);
    }

    /// <summary>opensourcellm with a Delay step <c>pause</c> between model validation and config rendering.</summary>
    private void WriteSlowPipeline(string pause)
    {
        var pipeline = JsonNode.Parse(File.ReadAllText(Path.Combine(ModServFactory.RepositoryRoot, "workflows", "opensourcellm.json")))!.AsObject();
        pipeline["definitionId"] = SlowPipeline;
        pipeline["name"] = "Open-source LLM with a pause";
        var root = pipeline["root"]!;
        root["activities"]!.AsArray().Add(new JsonObject { ["id"] = "pause", ["type"] = "ModelServeShim.Delay", ["inputs"] = new JsonObject { ["duration"] = pause }, ["timeout"] = "2m" });
        var connections = root["connections"]!.AsArray();
        var toRendering = connections.Single(c => (string?)c!["source"]!["activity"] == "model-validation" && (string?)c["target"]!["activity"] == "config-rendering")!;
        toRendering["target"]!["activity"] = "pause";
        connections.Add(new JsonObject { ["source"] = new JsonObject { ["activity"] = "pause" }, ["target"] = new JsonObject { ["activity"] = "config-rendering" } });
        File.WriteAllText(Path.Combine(_workflows, $"{SlowPipeline}.json"), pipeline.ToJsonString());
    }

    private sealed record Replica(ShimProcess Process, HttpClient Client);

    private static (IReadOnlyList<KeyValuePair<string, string>> Settings, string ConnectionString) Database(string prefix)
    {
        var settings = PostgresState.NewDatabase(prefix);
        return (settings, settings.Single(s => s.Key == "State:ConnectionString").Value);
    }

    /// <summary>Starts <paramref name="count"/> replicas at once (they migrate the empty database concurrently) and waits until each serves.</summary>
    private async Task<List<Replica>> StartReplicasAsync((IReadOnlyList<KeyValuePair<string, string>> Settings, string ConnectionString) database, int count)
    {
        string[] args =
        [
            .. database.Settings.Select(s => $"--{s.Key}={s.Value}"),
            "--shimlet=k8s", // a cluster shimlet as the default: the local one refuses to run beside other replicas
            $"--Models:Roots:0={_models}",
            "--Replicas:ReconcileInterval=00:00:03",
            "--Workflows:MaxConcurrentInstances=128",
        ];
        var replicas = new List<Replica>();
        for (var i = 0; i < count; i++)
        {
            var port = ShimProcess.FreePort();
            var process = ShimProcess.Start(port, _root.Sub($"data-{i}"), _workflows, [.. args, "--Logging:Console:TimestampFormat=HH:mm:ss.fff "]);
            _processes.Add(process);
            replicas.Add(new Replica(process, Client(port)));
        }

        await Task.WhenAll(replicas.Select(r => r.Process.WaitUntilHealthyAsync(r.Client, StartupTimeout)));
        return replicas;
    }

    private static NpgsqlDataSource DataSource((IReadOnlyList<KeyValuePair<string, string>> Settings, string ConnectionString) database) =>
        new NpgsqlDataSourceBuilder(database.ConnectionString) { ConnectionStringBuilder = { Password = PostgresCluster.Shared.Password } }.Build();

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }

    private static async Task<List<string>> ListAsync(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var list = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    private HttpClient Client(int port)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        _clients.Add(client);
        return client;
    }

    private ShimProcess Start(int port, string name, string[] state)
    {
        var process = ShimProcess.Start(port, _root.Sub($"data-{name}"), _root.Sub($"workflows-{name}"), [.. state, "--Logging:Console:TimestampFormat=HH:mm:ss.fff "]);
        _processes.Add(process);
        return process;
    }
}
