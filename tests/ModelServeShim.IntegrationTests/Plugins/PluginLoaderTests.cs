using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Plugins;
using ModelServeShim.Workflows.Activities;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>The loader on its own (no host): contexts, replacement, in-flight calls, refusals.</summary>
public sealed class PluginLoaderTests : IDisposable
{
    private readonly TempDirectory _plugins = new("mss-plugins-unit");
    private readonly ActivityRegistry _activities = new();

    public void Dispose() => _plugins.Dispose();

    [Fact]
    public void CollectibleContext_WithNoReferencesLeft_IsCollectedAfterUnload()
    {
        var folder = SamplePluginFiles.Install(_plugins.Path);
        var context = LoadAndUnload(Path.Combine(folder, SamplePluginFiles.Name + ".dll"));

        Assert.True(WaitUntilCollected(context), "the unloaded plugin context is still alive after 20 GCs");
    }

    [Fact]
    public void Load_Again_ReplacesTheShimletAndUnloadsTheOldContext()
    {
        SamplePluginFiles.Install(_plugins.Path);
        var (loader, shimlets) = CreateLoader();
        var old = LoadAndObserve(loader);

        var second = loader.Load(SamplePluginFiles.Name);

        Assert.Equal(["sample"], second.Shimlets);
        Assert.Equal(["Sample.Echo", "Sample.InspectModel", "Sample.Provision"], second.ActivityTypes.Order(StringComparer.Ordinal));
        Assert.Equal(["sample"], shimlets.Names);
        Assert.Single(loader.Plugins);
        Assert.True(_activities.TryGet("Sample.Echo", out var echo));
        Assert.Equal($"plugin:{SamplePluginFiles.Name}", echo.Source);
        Assert.True(WaitUntilCollected(old), "the replaced plugin's context is still alive after 20 GCs");
    }

    [Fact]
    public async Task Replace_WhileACallIsInFlight_UnloadsOnlyWhenTheCallReturns()
    {
        SamplePluginFiles.Install(_plugins.Path);
        var (loader, shimlets) = CreateLoader();
        loader.Load(SamplePluginFiles.Name);
        var oldShimlet = shimlets.Find("sample")!;
        var old = loader.Find(SamplePluginFiles.Name)!;
        Assert.True(old.TryAcquire()); // a step is running in the old version

        loader.Load(SamplePluginFiles.Name);

        Assert.True(old.IsRetired);
        Assert.False(old.UnloadRequested);
        old.Release();
        Assert.True(old.UnloadRequested);

        // A caller that kept the old handle is served by the version now registered.
        var status = await oldShimlet.GetStatusAsync(new ServiceTarget("nothing"), CancellationToken.None);
        Assert.Equal(ServicePhase.NotFound, status.Phase);
    }

    [Fact]
    public void Load_ShimletNamedLikeABuiltInOne_IsAConflict_AndRegistersNothing()
    {
        SamplePluginFiles.Install(_plugins.Path);
        var builtIn = new StubShimlet("sample");
        var (loader, shimlets) = CreateLoader(builtIn);

        var e = Assert.Throws<PluginLoadException>(() => loader.Load(SamplePluginFiles.Name));

        Assert.Equal(PluginLoadError.Conflict, e.Error);
        Assert.Contains("builtin", e.Message, StringComparison.Ordinal);
        Assert.Same(builtIn, shimlets.Find("sample"));
        Assert.Empty(loader.Plugins);
        Assert.False(_activities.TryGet("Sample.Echo", out _));
    }

    [Fact]
    public void Load_PluginBuiltForAnotherContractMajor_IsRefused_AndItsContextUnloaded()
    {
        SamplePluginFiles.InstallForContract(_plugins.Path, "future", "2.0");
        var (loader, _) = CreateLoader();

        var e = Assert.Throws<PluginLoadException>(() => loader.Load("future"));

        Assert.Equal(PluginLoadError.ContractMismatch, e.Error);
        Assert.Contains("contract version 2.0", e.Message, StringComparison.Ordinal);
        Assert.Empty(loader.Plugins);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("/etc")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void Load_NameThatIsNotAPlainFolderName_IsRefused(string name)
    {
        var (loader, _) = CreateLoader();

        var e = Assert.Throws<PluginLoadException>(() => loader.Load(name));

        Assert.Equal(PluginLoadError.InvalidName, e.Error);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadAndUnload(string path)
    {
        var context = new PluginLoadContext("unit", path);
        var assembly = context.LoadMain();
        Assert.Contains(assembly.GetExportedTypes(), t => typeof(IShimlet).IsAssignableFrom(t)); // the host's IShimlet
        context.Unload();
        return new WeakReference(context);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadAndObserve(PluginLoader loader)
    {
        loader.Load(SamplePluginFiles.Name);
        return loader.Find(SamplePluginFiles.Name)!.ContextReference;
    }

    private static bool WaitUntilCollected(WeakReference reference)
    {
        for (var i = 0; i < 20 && reference.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return !reference.IsAlive;
    }

    private (PluginLoader Loader, ShimletProvider Shimlets) CreateLoader(params IShimlet[] builtIn)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .BuildServiceProvider();
        var shimlets = new ShimletProvider(builtIn);
        var loader = new PluginLoader(new PluginDirectory(_plugins.Path), shimlets, _activities, services, TimeProvider.System, NullLogger<PluginLoader>.Instance);
        return (loader, shimlets);
    }

    /// <summary>A built-in shimlet that does nothing.</summary>
    private sealed class StubShimlet(string name) : IShimlet
    {
        public string Name => name;

        public Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken) => Task.FromResult(new ApplyResult([], Changed: false));

        public Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken) => Task.FromResult(new ShimletStatus { Phase = ServicePhase.NotFound });

        public Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);
    }
}
