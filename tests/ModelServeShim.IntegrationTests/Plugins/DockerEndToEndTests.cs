using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Models.SampleModels;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>
/// The Docker shimlet end to end with nothing faked: the plugin hot-loaded over HTTP, the sample GGUF deployed through
/// the opensourcellm pipeline with the built-in <c>llama-container</c> profile (the runtime image
/// <c>modelserveshim/llama-runtime:&lt;version&gt;</c>, <c>bash scripts/build-image.sh --runtime</c>) on the real dockerd,
/// a completion from its endpoint, scaled to 2, the control plane restarted on the same data directory, undeployed.
/// </summary>
public sealed class DockerEndToEndTests : IDisposable
{
    private const string AdminKey = "dk-admin";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly TempDirectory _root = new("mss-docker-e2e");

    [Fact]
    public async Task SampleGguf_OnDocker_ServesAndScales_SurvivesAControlPlaneRestartWithTheSameContainers_AndUndeployLeavesNothing()
    {
        var dirs = await PrepareAsync(FreePorts(2));
        string? serviceId = null;
        try
        {
            List<string> before;
            await using (var first = new DockerHost(dirs))
            {
                var client = await first.ClientWithDockerAsync();
                var body = ModServClient.Body("dk-sample");
                body["shimlet"] = "docker";
                body["resourceRequirements"] = new JsonObject { ["acceleratorCount"] = 0, ["cpu"] = "1", ["memory"] = "1Gi" };
                serviceId = await client.DeployAsync(body);

                await client.WaitForStateAsync(serviceId, "Running", TimeSpan.FromMinutes(3));
                await AssertCompletesAsync(dirs.Port);
                var container = Assert.Single(await ContainersAsync(serviceId));
                var version = typeof(Program).Assembly.GetName().Version!.ToString(3);
                Assert.Equal($"modelserveshim/llama-runtime:{version} host 1073741824 true",
                    (await DockerAsync("inspect", "-f", "{{.Config.Image}} {{.HostConfig.NetworkMode}} {{.HostConfig.Memory}} {{(index .Mounts 0).RW | not}}", container)).Trim());

                await client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.OK);

                before = await Poll.UntilAsync(async () => await ContainersAsync(serviceId) is { Count: 2 } two ? two : null, "two containers", TimeSpan.FromMinutes(1));
                await client.WaitForStateAsync(serviceId, "Running", TimeSpan.FromMinutes(2));
                await Poll.UntilAsync(async () => await CompletesAsync(dirs.Port + 1) ? "ok" : null, "replica 1 to answer", TimeSpan.FromMinutes(1));
            }

            // The control plane restarts on the same data directory: the plugin is loaded again, the service is
            // Running again on the containers it left (found by label, not recreated).
            await using var second = new DockerHost(dirs);
            var again = await second.ClientWithDockerAsync();
            await again.WaitForStateAsync(serviceId, "Running", TimeSpan.FromMinutes(1));
            Assert.Equal(before, await ContainersAsync(serviceId));
            // The gateway routes by the reloaded shimlet's status (its ready replicas' endpoints): the restarted
            // control plane sees the containers.
            var viaGateway = await Poll.UntilAsync(async () =>
            {
                using var response = await again.PostAsync("/v1/completions", Completion);
                return response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            }, "a completion through the gateway", TimeSpan.FromMinutes(1));
            Assert.Equal("text_completion", (string?)viaGateway["object"]);
            await AssertCompletesAsync(dirs.Port);
            await AssertCompletesAsync(dirs.Port + 1);

            await again.DeleteAsync($"{ModServClient.Base}/{serviceId}");

            await again.WaitForStateAsync(serviceId, "Stopped", TimeSpan.FromMinutes(1));
            Assert.Empty(await ContainersAsync(serviceId));
        }
        finally
        {
            // Never leave containers behind, whatever failed.
            if (serviceId is not null && await ContainersAsync(serviceId) is { Count: > 0 } left)
            {
                await DockerAsync(["rm", "-f", .. left]);
            }
        }
    }

    [Fact]
    public async Task GpuRequest_OnAHostWithoutTheNvidiaRuntime_FailsTheDeploymentStep_NamingTheToolkit_WithTheDeviceRequestSent()
    {
        var dirs = await PrepareAsync(FreePorts(1));
        string? serviceId = null;
        try
        {
            await using var host = new DockerHost(dirs);
            var client = await host.ClientWithDockerAsync();
            var body = ModServClient.Body("dk-gpu");
            body["shimlet"] = "docker";
            body["resourceRequirements"] = new JsonObject { ["acceleratorType"] = "NVIDIA L4", ["acceleratorCount"] = 1, ["cpu"] = "1", ["memory"] = "1Gi" };
            serviceId = await client.DeployAsync(body);

            var service = await client.WaitForStateAsync(serviceId, "Failed", TimeSpan.FromMinutes(1));

            Assert.Equal("GpuUnavailable", (string?)service["lastError"]!["type"]);
            Assert.Contains("NVIDIA Container Toolkit", (string?)service["lastError"]!["message"], StringComparison.Ordinal);
            var container = Assert.Single(await ContainersAsync(serviceId));
            Assert.Equal("nvidia 1 [[gpu]]",
                (await DockerAsync("inspect", "-f", "{{range .HostConfig.DeviceRequests}}{{.Driver}} {{.Count}} {{.Capabilities}}{{end}}", container)).Trim());
        }
        finally
        {
            if (serviceId is not null && await ContainersAsync(serviceId) is { Count: > 0 } left)
            {
                await DockerAsync(["rm", "-f", .. left]);
            }
        }
    }

    public void Dispose() => _root.Dispose();

    /// <summary>Folders for one host (reused by its restart): the built-in pipelines, the sample GGUF, the plugin's build output.</summary>
    private async Task<Dirs> PrepareAsync(int port)
    {
        var name = Guid.NewGuid().ToString("N")[..8];
        var dirs = new Dirs(_root.Sub($"{name}-data"), _root.Sub($"{name}-workflows"), _root.Sub($"{name}-models"), _root.Sub($"{name}-plugins"), port);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ModServFactory.RepositoryRoot, "workflows"), "*.json"))
        {
            File.Copy(file, Path.Combine(dirs.Workflows, Path.GetFileName(file)));
        }

        await SampleModelGenerator.WriteToDirectoryAsync(Path.Combine(dirs.Models, "sample"));
        DockerPluginFiles.Install(dirs.Plugins);
        return dirs;
    }

    private static StringContent Completion =>
        ApiClient.Json(new JsonObject { ["model"] = "dk-sample", ["prompt"] = "Once upon a time", ["max_tokens"] = 4 }.ToJsonString());

    private static async Task AssertCompletesAsync(int port) => Assert.True(await CompletesAsync(port), $"no completion from 127.0.0.1:{port}");

    private static async Task<bool> CompletesAsync(int port)
    {
        try
        {
            using var response = await Http.PostAsync(new Uri($"http://127.0.0.1:{port}/v1/completions"),
                Completion);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            return (string?)body["object"] == "text_completion" && (int)body["usage"]!["completion_tokens"]! == 4;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>The service's container ids, sorted, as <c>docker ps -a</c> lists them by the shimlet's label.</summary>
    private static async Task<List<string>> ContainersAsync(string serviceId)
    {
        var output = await DockerAsync("ps", "-a", "-q", "--no-trunc", "--filter", $"label=modelserveshim.io/service-id={serviceId}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];
    }

    private static async Task<string> DockerAsync(params string[] args)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"docker {string.Join(' ', args)} exited {process.ExitCode}: {error}");
        return output;
    }

    private static int FreePorts(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port + count <= 65535 && Enumerable.Range(port + 1, count - 1).All(IsFree))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no free loopback ports");

        static bool IsFree(int port)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }

    private sealed record Dirs(string Data, string Workflows, string Models, string Plugins, int Port);

    /// <summary>The host on fixed folders (so a second one is the first restarted), with an admin key.</summary>
    private sealed class DockerHost(Dirs dirs) : WebApplicationFactory<Program>
    {
        /// <summary>An admin client, after loading the Docker plugin as an operator would after a restart.</summary>
        public async Task<HttpClient> ClientWithDockerAsync()
        {
            var client = CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
            await client.PostAsync("/api/v1/plugins/load", PluginsApiTests.Name(DockerPluginFiles.Name)).ExpectAsync(HttpStatusCode.OK);
            return client;
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ModelServeShim:DataDir", dirs.Data);
            builder.UseSetting("Workflows:Directory", dirs.Workflows);
            builder.UseSetting("Plugins:Directory", dirs.Plugins);
            builder.UseSetting("Models:Roots:0", dirs.Models);
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.UseSetting("ControlPlane:HealthCheckInterval", "00:00:01");
            builder.UseSetting("HealthCheck:ProbeInterval", "00:00:00.200");
            builder.UseSetting("Runtimes:Profiles:llama-container:Port", dirs.Port.ToString(CultureInfo.InvariantCulture));
            builder.UseSetting("Shimlets:Docker:StopGracePeriod", "00:00:01");
            builder.UseSetting("Auth:ApiKeys:0:Name", "admin1");
            builder.UseSetting("Auth:ApiKeys:0:KeyHash", ApiKeyHasher.Hash(AdminKey));
            builder.UseSetting("Auth:ApiKeys:0:Role", Roles.Admin);
        }
    }
}
