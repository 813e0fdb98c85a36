using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
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

        Assert.Contains("opensourcellm", pipelines);
        Assert.Contains("quant-llm", pipelines);
        var files = (await (await client.GetAsync("/api/v1/workflow-files")).ReadJsonAsync()).AsArray();
        Assert.Contains(files, f => (string)f!["file"]! == "builtin:opensourcellm.json" && f["errors"]!.AsArray().Count == 0);
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

        var definition = await (await client.GetAsync("/api/v1/workflow-definitions/opensourcellm")).ReadJsonAsync();

        Assert.Equal("replaced by the workflow folder", (string)definition["description"]!);
        Assert.Equal("file:opensourcellm.json", (string)definition["source"]!);
        var files = (await (await client.GetAsync("/api/v1/workflow-files")).ReadJsonAsync()).AsArray();
        Assert.DoesNotContain(files, f => (string)f!["file"]! == "builtin:opensourcellm.json");
    }

    [Fact]
    public void UnknownDefaultPipeline_StopsTheStartWithTheSettingAndTheKnownPipelines()
    {
        using var factory = new SettingsFactory(("ModelServeShim:Pipeline", "no-such-pipeline"));

        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var failure = Assert.Single(Hosting_ConfigurationErrors(e));
        Assert.Contains("ModelServeShim:Pipeline (--pipeline) 'no-such-pipeline' is not a loaded pipeline", failure, StringComparison.Ordinal);
        Assert.Contains("opensourcellm", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownDefaultShimlet_StopsTheStartWithTheSettingAndTheKnownShimlets()
    {
        using var factory = new SettingsFactory(("ModelServeShim:Shimlet", "nowhere"));

        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var failure = Assert.Single(Hosting_ConfigurationErrors(e));
        Assert.Contains("ModelServeShim:Shimlet (--shimlet) 'nowhere' is not a shimlet", failure, StringComparison.Ordinal);
        Assert.Contains("k8s, local", failure, StringComparison.Ordinal);
    }

    private static IReadOnlyList<string> Hosting_ConfigurationErrors(Exception e) => ModelServeShim.Hosting.ConfigurationErrors.From(e) is { Count: > 0 } failures
        ? failures
        : throw new Xunit.Sdk.XunitException($"not a configuration error: {e}");

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

    private sealed class SettingsFactory(params (string Key, string Value)[] settings) : ShimFactory
    {
        protected override IEnumerable<KeyValuePair<string, string>> Settings => settings.Select(s => KeyValuePair.Create(s.Key, s.Value));
    }
}
