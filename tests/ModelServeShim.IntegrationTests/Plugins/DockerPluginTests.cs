using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>The Docker shimlet plugin's build output (plugins/ModelServeShim.Shimlets.Docker, built before the tests, never referenced).</summary>
public static class DockerPluginFiles
{
    /// <summary>The plugin's name: its folder and main dll name.</summary>
    public const string Name = "ModelServeShim.Shimlets.Docker";

    /// <summary>Copies the build output (the plugin, Docker.DotNet, Newtonsoft.Json, deps.json) to <c>&lt;pluginsDir&gt;/&lt;name&gt;/</c>.</summary>
    public static string Install(string pluginsDir)
    {
        var configuration = typeof(DockerPluginFiles).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var output = Path.Combine(ModServFactory.RepositoryRoot, "plugins", Name, "bin", configuration, "net10.0");
        if (!File.Exists(Path.Combine(output, Name + ".dll")))
        {
            throw new InvalidOperationException($"The Docker plugin is not built at {output}: build plugins/{Name} in {configuration}.");
        }

        var target = Directory.CreateDirectory(Path.Combine(pluginsDir, Name)).FullName;
        foreach (var file in Directory.EnumerateFiles(output))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        return target;
    }
}

/// <summary>Hot-loading the Docker shimlet plugin over HTTP, as an operator would (docs/shimlets/docker.md).</summary>
public sealed class DockerPluginTests(PluginsFactory factory) : IClassFixture<PluginsFactory>
{
    private const string Base = "/api/v1/plugins";

    [Fact]
    public async Task LoadDockerPlugin_AsAdmin_ListsTheDockerShimletFromThePlugin()
    {
        var folder = DockerPluginFiles.Install(factory.PluginsDir);
        Assert.True(File.Exists(Path.Combine(folder, "Docker.DotNet.dll")));
        Assert.False(File.Exists(Path.Combine(folder, "ModelServeShim.Abstractions.dll")));
        var admin = factory.CreateClient(PluginsFactory.AdminKey);

        var loaded = await (await admin.PostAsync($"{Base}/load", PluginsApiTests.Name(DockerPluginFiles.Name)).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();

        Assert.Equal(["docker"], loaded["shimlets"]!.AsArray().Select(s => (string)s!));
        var listed = await (await factory.CreateClient(PluginsFactory.ViewerKey).GetAsync(Base).ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        var docker = Assert.Single(listed["shimlets"]!.AsArray(), s => (string)s!["name"]! == "docker")!;
        Assert.Equal($"plugin:{DockerPluginFiles.Name}", (string)docker["source"]!);
        Assert.Contains(listed["plugins"]!.AsArray(), p => (string)p!["name"]! == DockerPluginFiles.Name);
        Assert.IsType<JsonArray>(listed["pipelines"]);
    }
}
