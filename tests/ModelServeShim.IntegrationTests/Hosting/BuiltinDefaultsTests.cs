using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.CrashResume;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Hosting;

/// <summary>What the binary carries (Hosting/BuiltinDefaults.cs): the pipelines with an empty workflow folder, and the start-up check of the defaults.</summary>
public sealed class BuiltinDefaultsTests
{
    [Fact]
    public async Task EmptyWorkflowFolder_ServesTheBuiltInPipelines()
    {
        using var factory = new ShimFactory();
        var client = factory.CreateClient();

        var plugins = await (await client.GetAsync("/api/v1/plugins")).ReadJsonAsync();
        var pipelines = plugins["pipelines"]!.AsArray().Select(p => (string)p!["name"]!).ToList();

        Assert.Equal(["opensourcellm", "privatellm", "quant-llm", "scale", "undeploy"], pipelines.Order(StringComparer.Ordinal));
        var files = (await (await client.GetAsync("/api/v1/workflow-files")).ReadJsonAsync())["files"]!.AsArray();
        Assert.All(
            ["opensourcellm", "privatellm", "quant-llm", "scale", "undeploy"],
            p => Assert.Contains(files, f => (string)f!["file"]! == $"builtin:{p}.json" && f["errors"]!.AsArray().Count == 0));
    }

    [Fact]
    public async Task FileOfTheSameName_ReplacesTheBuiltInOne()
    {
        using var factory = new ShimFactory();
        var source = Path.Combine(FindRepositoryRoot(), "workflows", "opensourcellm.json");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(source))!;
        json["description"] = "replaced by the workflow folder";
        await File.WriteAllTextAsync(Path.Combine(factory.WorkflowsDir, "opensourcellm.json"), json.ToJsonString());
        var client = factory.CreateClient();

        var list = (await (await client.GetAsync("/api/v1/workflow-definitions")).ReadJsonAsync()).AsArray();
        var definition = list.Single(d => (string)d!["definitionId"]! == "opensourcellm")!;

        Assert.Equal("replaced by the workflow folder", (string)definition["description"]!);
        Assert.Equal("file:opensourcellm.json", (string)definition["source"]!);
        Assert.Equal(1, (int)definition["version"]!);
        var files = (await (await client.GetAsync("/api/v1/workflow-files")).ReadJsonAsync())["files"]!.AsArray();
        Assert.DoesNotContain(files, f => (string)f!["file"]! == "builtin:opensourcellm.json");
    }

    [Fact]
    public async Task UnknownDefaultPipeline_StopsTheStartWithExitCode2AndTheKnownPipelines()
    {
        using var root = new TempDirectory("mss-defaults");
        using var shim = ShimProcess.Start(ShimProcess.FreePort(), root.Sub("data"), root.Sub("workflows"), "--pipeline=no-such-pipeline");

        var exitCode = await shim.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(2, exitCode);
        Assert.Contains("invalid configuration: ModelServeShim:Pipeline (--pipeline) 'no-such-pipeline' is not a loaded pipeline", shim.Output, StringComparison.Ordinal);
        Assert.Contains("opensourcellm, privatellm, quant-llm", shim.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownDefaultShimlet_StopsTheStartWithExitCode2AndTheKnownShimlets()
    {
        using var root = new TempDirectory("mss-defaults");
        using var shim = ShimProcess.Start(ShimProcess.FreePort(), root.Sub("data"), root.Sub("workflows"), "--shimlet=nowhere");

        var exitCode = await shim.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(2, exitCode);
        Assert.Contains("ModelServeShim:Shimlet (--shimlet) 'nowhere' is not a shimlet: the server has k8s, local", shim.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task PortInUse_StopsTheStartWithExitCode2_NamingThePortAndTheFlag_AndNoOtherFailure(string provider)
    {
        using var root = new TempDirectory("mss-port");
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        // On PostgreSQL the leader election and the event feed run too.
        string[] state = provider == "postgres" ? [.. PostgresState.NewDatabase("port-in-use").Select(s => $"--{s.Key}={s.Value}")] : [];
        using var shim = ShimProcess.Start(port, root.Sub("data"), root.Sub("workflows"), state);

        var exitCode = await shim.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(2, exitCode);
        Assert.Contains($"model-serve-shim: Failed to bind to address http://127.0.0.1:{port}: address already in use: another process listens there", shim.Output, StringComparison.Ordinal);
        Assert.Contains("choose another port with --port=<n> (ModelServeShim:Port)", shim.Output, StringComparison.Ordinal);
        // The background services stop quietly when the start fails (they used to log their cancellation as a failure).
        Assert.DoesNotContain("BackgroundService failed", shim.Output, StringComparison.Ordinal);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelServeShim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ModelServeShim.sln not found above the test binaries");
    }
}
