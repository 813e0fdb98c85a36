using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;
using ModelServeShim.Plugins;
using ModelServeShim.Security;
using Microsoft.Extensions.DependencyInjection;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>The ModServ host with an empty plugins directory and one API key per role.</summary>
public sealed class PluginsFactory : ModServFactory
{
    public const string ViewerKey = "pl-view";
    public const string OperatorKey = "pl-operate";
    public const string AdminKey = "pl-admin";

    private readonly TempDirectory _plugins = new("mss-plugins");

    public string PluginsDir => _plugins.Path;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Plugins:Directory", PluginsDir),
        .. Key(0, ViewerKey, Roles.Viewer),
        .. Key(1, OperatorKey, Roles.Operator),
        .. Key(2, AdminKey, Roles.Admin),
    ];

    public HttpClient CreateClient(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _plugins.Dispose();
        }
    }

    private static KeyValuePair<string, string>[] Key(int index, string key, string role) =>
    [
        new($"Auth:ApiKeys:{index}:Name", $"{role}1"),
        new($"Auth:ApiKeys:{index}:KeyHash", ApiKeyHasher.Hash(key)),
        new($"Auth:ApiKeys:{index}:Role", role),
    ];
}

/// <summary><c>/api/v1/plugins</c>: listing, hot-loading the sample plugin and deploying with it, refusals.</summary>
public sealed class PluginsApiTests(PluginsFactory factory) : IClassFixture<PluginsFactory>
{
    private const string Base = "/api/v1/plugins";

    private readonly HttpClient _admin = factory.CreateClient(PluginsFactory.AdminKey);

    [Fact]
    public async Task LoadSamplePlugin_WithoutRestart_ListsItsShimletAndActivity_AndDeploysThroughIt_ThenReloadReplacesIt()
    {
        SamplePluginFiles.Install(factory.PluginsDir);
        var viewer = factory.CreateClient(PluginsFactory.ViewerKey);

        var before = await (await viewer.GetAsync(Base).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.DoesNotContain("sample", Names(before["shimlets"]!));
        Assert.Contains(before["shimlets"]!.AsArray(), s => (string)s!["name"]! == "local" && (string)s["source"]! == "builtin");
        Assert.Contains(before["pipelines"]!.AsArray(), p => (string)p!["name"]! == "opensourcellm" && ((string)p["source"]!).StartsWith("file", StringComparison.Ordinal));
        Assert.Empty(before["plugins"]!.AsArray());
        var unknownShimlet = Body("sample-plugin-early");
        await _admin.PostAsync($"{ModServClient.Base}/deploy", ApiClient.Json(unknownShimlet.ToJsonString())).ExpectAsync(HttpStatusCode.BadRequest);

        var loaded = await (await _admin.PostAsync($"{Base}/load", Name(SamplePluginFiles.Name)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal(SamplePluginFiles.Name, (string)loaded["name"]!);
        Assert.Equal(["sample"], loaded["shimlets"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(["Sample.Echo", "Sample.InspectModel", "Sample.Provision"], loaded["activityTypes"]!.AsArray().Select(s => (string)s!).Order(StringComparer.Ordinal));
        Assert.Equal(Path.Combine(factory.PluginsDir, SamplePluginFiles.Name, SamplePluginFiles.Name + ".dll"), (string)loaded["path"]!);
        var after = await (await viewer.GetAsync(Base).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var sample = Assert.Single(after["shimlets"]!.AsArray(), s => (string)s!["name"]! == "sample")!;
        Assert.Equal($"plugin:{SamplePluginFiles.Name}", (string)sample["source"]!);
        Assert.StartsWith("0.1.0", (string)sample["version"]!, StringComparison.Ordinal);
        Assert.Equal(SamplePluginFiles.Name, (string)Assert.Single(after["plugins"]!.AsArray())!["name"]!);
        var palette = await (await viewer.GetAsync("/api/v1/activities").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var echo = Assert.Single(palette.AsArray(), a => (string)a!["type"]! == "Sample.Echo")!;
        Assert.Equal($"plugin:{SamplePluginFiles.Name}", (string)echo["source"]!);

        // The default pipeline deploys through the plugin's shimlet: its Apply returns resource ids it marks as its own.
        var serviceId = await _admin.DeployAsync(Body("sample-plugin"));
        var service = await Poll.UntilAsync(
            // The lifecycle applies pipeline events in the background: wait for the Deploying transition too.
            async () => await _admin.GetServiceAsync(serviceId) is { } s && s["resourceIds"] is JsonArray { Count: > 0 }
                && s.Transitions().Any(t => t.Split('→')[1] == "Deploying") ? s : null,
            $"service {serviceId} to be applied by the sample shimlet");
        Assert.Equal("sample", (string)service["service"]!["shimlet"]!);
        Assert.Equal([$"sample-v0.1.0/default/{serviceId}"], service["resourceIds"]!.AsArray().Select(r => (string)r!));
        Assert.Contains("Deploying", service.Transitions().Select(t => t.Split('→')[1]));

        // Loading again replaces the loaded version. The old context is unloaded once nothing runs in it: the
        // health check may still be watching the service through it, so undeploy (ends the watch) and wait.
        var old = factory.Services.GetRequiredService<PluginLoader>().Find(SamplePluginFiles.Name)!;
        var reloaded = await (await _admin.PostAsync($"{Base}/load", Name(SamplePluginFiles.Name)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.True((DateTimeOffset)reloaded["loadedAt"]! >= (DateTimeOffset)loaded["loadedAt"]!);
        Assert.True(old.IsRetired);
        await _admin.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await _admin.WaitForStateAsync(serviceId, "Stopped");
        await Poll.UntilAsync(() => Task.FromResult(old.UnloadRequested ? old : null), "the replaced plugin's context to be unloaded");
        var final = await (await viewer.GetAsync(Base).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Single(final["plugins"]!.AsArray());
        Assert.Single(final["shimlets"]!.AsArray(), s => (string)s!["name"]! == "sample");
        await _admin.DeployAsync(Body("sample-plugin-after-reload"));
    }

    [Fact]
    public async Task Load_AsOperatorOrViewer_Returns403()
    {
        SamplePluginFiles.Install(factory.PluginsDir);
        foreach (var key in new[] { PluginsFactory.OperatorKey, PluginsFactory.ViewerKey })
        {
            await factory.CreateClient(key).PostAsync($"{Base}/load", Name(SamplePluginFiles.Name)).ExpectAsync(HttpStatusCode.Forbidden);
        }
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("%2e%2e")]
    [InlineData("")]
    public async Task Load_NameThatIsNotAFolderName_Returns400NamingTheField(string name)
    {
        var response = await _admin.PostAsync($"{Base}/load", Name(name)).ExpectAsync(HttpStatusCode.BadRequest);

        var problem = await response.ReadJsonAsync();
        Assert.Equal("name", (string)problem["errors"]![0]!["path"]!);
    }

    [Fact]
    public async Task Load_UnknownPlugin_Returns404()
    {
        var problem = await (await _admin.PostAsync($"{Base}/load", Name("no-such-plugin")).ExpectAsync(HttpStatusCode.NotFound)).ReadJsonAsync();

        Assert.Contains("no-such-plugin/no-such-plugin.dll", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_CorruptDll_Returns422WithTheLoadersMessage()
    {
        SamplePluginFiles.InstallCorrupt(factory.PluginsDir, "corrupt");

        var problem = await (await _admin.PostAsync($"{Base}/load", Name("corrupt")).ExpectAsync(HttpStatusCode.UnprocessableEntity)).ReadJsonAsync();

        Assert.Contains("corrupt", (string)problem["detail"]!, StringComparison.Ordinal);
        var list = await (await _admin.GetAsync(Base).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.DoesNotContain(list["plugins"]!.AsArray(), p => (string)p!["name"]! == "corrupt");
    }

    [Fact]
    public async Task Load_PluginForAnotherContractMajor_Returns422()
    {
        SamplePluginFiles.InstallForContract(factory.PluginsDir, "next-major", "2.1");

        var problem = await (await _admin.PostAsync($"{Base}/load", Name("next-major")).ExpectAsync(HttpStatusCode.UnprocessableEntity)).ReadJsonAsync();

        Assert.Equal("Plugin contract mismatch", (string)problem["title"]!);
        Assert.Contains("Rebuild the plugin", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    internal static StringContent Name(string name) => ApiClient.Json(new JsonObject { ["name"] = name }.ToJsonString());

    private static JsonObject Body(string model)
    {
        var body = ModServClient.Body(model);
        body["shimlet"] = "sample";
        return body;
    }

    private static IEnumerable<string> Names(JsonNode list) => list.AsArray().Select(s => (string)s!["name"]!);
}

/// <summary>A second plugin bringing names a loaded plugin owns (own host: it leaves the sample plugin loaded).</summary>
public sealed class PluginsConflictApiTests(PluginsFactory factory) : IClassFixture<PluginsFactory>
{
    private const string Base = "/api/v1/plugins";

    private readonly HttpClient _admin = factory.CreateClient(PluginsFactory.AdminKey);

    [Fact]
    public async Task Load_SecondPluginWithTheSameShimletName_Returns409()
    {
        SamplePluginFiles.Install(factory.PluginsDir);
        SamplePluginFiles.Install(factory.PluginsDir, "SampleCopy");
        await _admin.PostAsync($"{Base}/load", PluginsApiTests.Name(SamplePluginFiles.Name)).ExpectAsync(HttpStatusCode.OK);

        var problem = await (await _admin.PostAsync($"{Base}/load", PluginsApiTests.Name("SampleCopy")).ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();

        Assert.Contains($"plugin:{SamplePluginFiles.Name}", (string)problem["detail"]!, StringComparison.Ordinal);
    }
}
