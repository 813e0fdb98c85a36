using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Approval;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Models.SampleModels;
using ModelServeShim.Security;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.CrashResume;

/// <summary>
/// A real server process: a deploy waits for approval, the process is SIGKILLed and started again, the deploy still
/// waits (its instance Suspended), an approver approves, and the pipeline runs on to its end: a test pipeline's dry run
/// (Stopped), and the built-in <c>privatellm</c> with the local shimlet (Running).
/// </summary>
[Collection(nameof(CrashResumeCollection))]
public sealed class ApprovalCrashTests(ITestOutputHelper output) : IDisposable
{
    private const string OperatorKey = "crash-operate";
    private const string ApproverKey = "crash-approve";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _root = new("mss-approval-crash");
    private readonly List<ShimProcess> _processes = [];

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- server pid {process.Id} output ---\n{process.Output}");
            process.Dispose();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task ServerKilledWhileAwaitingApproval_StillWaitsAfterRestart_ThenTheApprovalRunsItToItsEnd()
    {
        var port = ShimProcess.FreePort();
        var dataDir = _root.Sub("data");
        var workflowsDir = _root.Sub("workflows");
        var models = _root.Sub("models");
        await SampleModelGenerator.WriteToDirectoryAsync(Path.Combine(models, "sample"));
        ApprovalPipelines.WriteTo(workflowsDir);
        string[] settings =
        [
            $"--Models:Roots:0={models}",
            "--Auth:ApiKeys:0:Name=operator1", $"--Auth:ApiKeys:0:KeyHash={ApiKeyHasher.Hash(OperatorKey)}", $"--Auth:ApiKeys:0:Role={Roles.Operator}",
            "--Auth:ApiKeys:1:Name=approver1", $"--Auth:ApiKeys:1:KeyHash={ApiKeyHasher.Hash(ApproverKey)}", $"--Auth:ApiKeys:1:Role={Roles.Approver}",
        ];
        using var operatorClient = Client(port, OperatorKey);
        using var approver = Client(port, ApproverKey);

        var first = Start(port, dataDir, workflowsDir, settings);
        await first.WaitUntilHealthyAsync(operatorClient, StartupTimeout);
        var body = ModServClient.Body("crash-approved", dryRun: true);
        body["shimlet"] = "local";
        body["pipeline"] = ApprovalPipelines.Waiting;
        var serviceId = await operatorClient.DeployAsync(body);
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        var instanceId = (string)waiting["pendingApproval"]!["instanceId"]!;
        await Poll.UntilAsync(
            async () => await InstanceStatusAsync(operatorClient, instanceId) == "Suspended" ? "ok" : null, "the instance to be stored Suspended");

        first.Kill();
        Assert.True(first.HasExited);

        var second = Start(port, dataDir, workflowsDir, settings);
        await second.WaitUntilHealthyAsync(operatorClient, StartupTimeout);
        var afterRestart = await operatorClient.GetServiceAsync(serviceId);
        Assert.Equal("AwaitingApproval", afterRestart.State());
        Assert.Equal("Suspended", await InstanceStatusAsync(operatorClient, instanceId));
        await operatorClient.PostAsync($"{ModServClient.Base}/{serviceId}/approval", ApiClient.Json("""{"decision":"approve"}""")).ExpectAsync(HttpStatusCode.Forbidden);

        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", ApiClient.Json("""{"decision":"approve","comment":"after the crash"}"""))
            .ExpectAsync(HttpStatusCode.OK);
        var done = await operatorClient.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromSeconds(60));

        Assert.Contains(done.History(), h => (string?)h["operator"] == "approver1" && ((string)h["reason"]!).Contains("approved by approver1: after the crash", StringComparison.Ordinal));
        var logs = await operatorClient.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        Assert.Contains(logs["items"]!.AsArray(), e => (string?)e!["event"] == "SignalReceived" && (string?)e["properties"]!["by"] == "approver1");
        var pipeline = await operatorClient.GetPipelineAsync(serviceId);
        var steps = pipeline["steps"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string)s!["status"]!);
        Assert.Equal("Succeeded", steps["approval"]);
        Assert.Equal("Succeeded", steps["config-rendering"]);
        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", ApiClient.Json("""{"decision":"approve"}""")).ExpectAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task BuiltInPrivatellm_ServerKilledWhileAwaitingApproval_ApprovedAfterRestart_TheLocalServiceRuns()
    {
        var port = ShimProcess.FreePort();
        var dataDir = _root.Sub("data");
        var workflowsDir = _root.Sub("workflows"); // empty: the built-in privatellm is the one that runs
        var models = _root.Sub("models");
        var sample = Path.Combine(models, "sample");
        await SampleModelGenerator.WriteToDirectoryAsync(sample);
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(sample, "sample-llama-f32.gguf"))));
        await File.WriteAllTextAsync(Path.Combine(sample, "SHA256SUMS"), $"{sha}  sample-llama-f32.gguf\n");
        string[] settings =
        [
            $"--Models:Roots:0={models}",
            "--Auth:ApiKeys:0:Name=operator1", $"--Auth:ApiKeys:0:KeyHash={ApiKeyHasher.Hash(OperatorKey)}", $"--Auth:ApiKeys:0:Role={Roles.Operator}",
            "--Auth:ApiKeys:1:Name=approver1", $"--Auth:ApiKeys:1:KeyHash={ApiKeyHasher.Hash(ApproverKey)}", $"--Auth:ApiKeys:1:Role={Roles.Approver}",
            "--Policies:Deploy:Rules:0:Name=operators-cpu", "--Policies:Deploy:Rules:0:Roles:0=operator", "--Policies:Deploy:Rules:0:MaxAcceleratorCount=0",
            "--Policies:Deploy:Rules:0:Namespaces:0=*",
        ];
        using var operatorClient = Client(port, OperatorKey);
        using var approver = Client(port, ApproverKey);

        var first = Start(port, dataDir, workflowsDir, settings);
        await first.WaitUntilHealthyAsync(operatorClient, StartupTimeout);
        var body = ModServClient.Body("crash-private");
        body["shimlet"] = "local";
        body["pipeline"] = "privatellm";
        var serviceId = await operatorClient.DeployAsync(body);
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        var instanceId = (string)waiting["pendingApproval"]!["instanceId"]!;
        await Poll.UntilAsync(
            async () => await InstanceStatusAsync(operatorClient, instanceId) == "Suspended" ? "ok" : null, "the instance to be stored Suspended");

        first.Kill();
        Assert.True(first.HasExited);

        var second = Start(port, dataDir, workflowsDir, settings);
        await second.WaitUntilHealthyAsync(operatorClient, StartupTimeout);
        Assert.Equal("AwaitingApproval", (await operatorClient.GetServiceAsync(serviceId)).State());
        Assert.Equal("Suspended", await InstanceStatusAsync(operatorClient, instanceId));

        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", ApiClient.Json("""{"decision":"approve","comment":"signed off after the crash"}"""))
            .ExpectAsync(HttpStatusCode.OK);
        var running = await operatorClient.WaitForStateAsync(serviceId, "Running", TimeSpan.FromMinutes(3));

        Assert.Contains(running.History(), h => (string?)h["operator"] == "approver1" && ((string)h["reason"]!).Contains("approved by approver1: signed off after the crash", StringComparison.Ordinal));
        var logs = await operatorClient.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        Assert.Contains(logs["items"]!.AsArray(), e => (string?)e!["event"] == "SignalReceived" && (string?)e["properties"]!["by"] == "approver1");
        var steps = (await operatorClient.GetPipelineAsync(serviceId))["steps"]!.AsArray().ToDictionary(s => (string)s!["name"]!, s => s!);
        Assert.All(
            ["permission-check", "model-validation", "checksum-verification", "approval", "config-rendering", "resource-deployment", "health-check"],
            s => Assert.Equal("Succeeded", (string?)steps[s]["status"]));
        Assert.Equal("operators-cpu", (string?)steps["permission-check"]["attemptDetails"]!.AsArray().Last()!["output"]!["rule"]);
        Assert.True((bool)steps["checksum-verification"]["attemptDetails"]!.AsArray().Last()!["output"]!["verified"]!);

        // The runtime the second server started is stopped with the service, not left behind by the test.
        await operatorClient.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await operatorClient.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromMinutes(1));
    }

    private static async Task<string?> InstanceStatusAsync(HttpClient client, string instanceId)
    {
        var detail = await (await client.GetAsync($"/api/v1/workflow-instances/{instanceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        return (string?)detail["instance"]!["status"];
    }

    private static HttpClient Client(int port, string key)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    private ShimProcess Start(int port, string dataDir, string workflowsDir, string[] settings)
    {
        var process = ShimProcess.Start(port, dataDir, workflowsDir, settings);
        _processes.Add(process);
        return process;
    }
}
