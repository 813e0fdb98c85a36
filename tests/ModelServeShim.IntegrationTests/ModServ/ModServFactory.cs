using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Models.SampleModels;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// The real host with the repository's pipelines (a temp copy of <c>workflows/</c>), a model root holding the
/// sample GGUF, a 1 s health monitor, and the in-memory <see cref="TestShimlet"/> registered as shimlet <c>test</c>
/// next to the built-in ones. Nothing of the product is replaced: runtime, activities and the control plane are real.
/// </summary>
public class ModServFactory : ShimFactory, IAsyncLifetime
{
    /// <summary>The sample model, relative to the model root (relative paths resolve against the first root).</summary>
    public const string SampleModelFile = "sample/sample-llama-f32.gguf";

    private readonly TempDirectory _models = new("mss-models");

    public ModServFactory()
    {
        ModelRoot = _models.Path;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "workflows"), "*.json"))
        {
            File.Copy(file, Path.Combine(WorkflowsDir, Path.GetFileName(file)));
        }

        Runtime = FakeRuntime.Start();
        Shimlet = new TestShimlet(Runtime);
    }

    /// <summary>The folder holding ModelServeShim.sln, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public string ModelRoot { get; }

    /// <summary>The sample GGUF's full path.</summary>
    public string SampleModelPath => Path.Combine(ModelRoot, SampleModelFile);

    public FakeRuntime Runtime { get; }

    public TestShimlet Shimlet { get; }

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Models:Roots:0", ModelRoot),
        new("ControlPlane:HealthCheckInterval", "00:00:01"),
        new("HealthCheck:ProbeInterval", "00:00:00.200"),
        .. ExtraSettings,
    ];

    /// <summary>More configuration for derived factories (API keys).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> ExtraSettings => [];

    public async Task InitializeAsync() => await SampleModelGenerator.WriteToDirectoryAsync(Path.GetDirectoryName(SampleModelPath)!);

    async Task IAsyncLifetime.DisposeAsync()
    {
        try
        {
            await DisposeAsync();
        }
        finally
        {
            await Runtime.DisposeAsync();
            _models.Dispose();
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(s => s.AddSingleton<IShimlet>(Shimlet));
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

        throw new InvalidOperationException($"No ModelServeShim.sln above {AppContext.BaseDirectory}.");
    }
}
