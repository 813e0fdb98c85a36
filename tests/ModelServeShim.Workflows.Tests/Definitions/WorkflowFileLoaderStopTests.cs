using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Tests.Execution;

namespace ModelServeShim.Workflows.Tests.Definitions;

/// <summary>A file change waits to be quiet before it loads; that wait is tracked work which stopping cancels and awaits.</summary>
public sealed class WorkflowFileLoaderStopTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Stop_WhileAChangedFileWaitsToBeQuiet_CancelsTheReload_AndNothingLoadsAfterwards()
    {
        await using var h = await EngineHarness.StartAsync();
        var folder = Directory.CreateTempSubdirectory("mss-watch-").FullName;
        var loader = new WorkflowFileLoader(h.Definitions, h.Leader, Options.Create(new WorkflowFileOptions { Directory = folder, Watch = true }), [],
            h.Time, NullLogger<WorkflowFileLoader>.Instance);
        await loader.StartAsync(CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(folder, "late.json"), """
            { "definitionId": "late", "root": { "activities": [ { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "hi" } } ] } }
            """);
        using var guard = new CancellationTokenSource(HangGuard);
        while (loader.PendingReloads == 0)
        {
            await Task.Delay(10, guard.Token); // the watcher's event arrives on its own thread; the fake clock holds the quiet wait
        }

        await loader.StopAsync(guard.Token);
        h.Time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(0, loader.PendingReloads);
        Assert.Null(await h.Definitions.GetCompiledAsync("late", null));
        Assert.Empty(loader.Files);
        loader.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
