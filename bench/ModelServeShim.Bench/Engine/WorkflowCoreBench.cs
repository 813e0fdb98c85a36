using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using WorkflowCore.Interface;
using WorkflowCore.Models;
using WorkflowCore.Models.LifeCycleEvents;

namespace ModelServeShim.Bench.Engine;

/// <summary>
/// The same five no-op steps on WorkflowCore 3.22 with its defaults: in-memory persistence, single-node
/// queue, lock provider and lifecycle event hub. Completion is detected through the host's lifecycle events
/// (<see cref="WorkflowCompleted"/>), which WorkflowCore raises as soon as its executor marks the instance
/// Complete: no polling, so the measurement adds no delay of its own.
/// </summary>
internal sealed class WorkflowCoreBench : IAsyncDisposable
{
    public const string WorkflowId = "bench-noop5";
    private readonly ServiceProvider _services;
    private readonly IWorkflowHost _host;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _finished = new(StringComparer.Ordinal);

    private WorkflowCoreBench(ServiceProvider services)
    {
        _services = services;
        _host = services.GetRequiredService<IWorkflowHost>();
        _host.OnLifeCycleEvent += OnLifeCycleEvent;
    }

    /// <summary>Starts a host; <paramref name="configure"/> null keeps every WorkflowCore default.</summary>
    public static async Task<WorkflowCoreBench> StartAsync(Action<WorkflowOptions>? configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddWorkflow(o => configure?.Invoke(o));
        var bench = new WorkflowCoreBench(services.BuildServiceProvider());
        bench._host.RegisterWorkflow<NoOpWorkflow, BenchData>();
        await bench._host.StartAsync(CancellationToken.None);
        return bench;
    }

    /// <summary>The defaults of a fresh <see cref="WorkflowOptions"/> (internal fields, read for the report).</summary>
    public static string DescribeDefaults()
    {
        var options = new WorkflowOptions(new ServiceCollection());
        string Field(string name) => typeof(WorkflowOptions)
            .GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(options)?.ToString() ?? "?";
        return $"PollInterval {Field("PollInterval")}, IdleTime {Field("IdleTime")}, MaxConcurrentWorkflows {Field("MaxConcurrentWorkflows")}";
    }

    /// <summary>Runs one load level; with a <paramref name="budget"/>, fewer instances when it is spent (said in the notes).</summary>
    public async Task<EngineRun> RunAsync(LoadLevel level, string name, TimeSpan budget)
    {
        await ClosedLoop.RunAsync(level.WarmUp, level.Concurrency, StartAndWaitAsync, budget / 4);
        var load = await ClosedLoop.RunAsync(level.Instances, level.Concurrency, StartAndWaitAsync, budget);
        var (check, passed, gaps) = await CheckAsync(load.Ids);
        var notes = load.Ids.Count < level.Instances ? $"stopped at the {budget.TotalSeconds:0} s budget after {load.Ids.Count:N0} of {level.Instances:N0}" : "";
        return new EngineRun(name, level with { Instances = load.Ids.Count }, load, gaps, check, passed, notes);
    }

    public async ValueTask DisposeAsync()
    {
        _host.OnLifeCycleEvent -= OnLifeCycleEvent;
        await _host.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }

    private async Task<string> StartAndWaitAsync()
    {
        var id = await _host.StartWorkflow(WorkflowId, 1, new BenchData());
        await _finished.GetOrAdd(id, NewSignal).Task.WaitAsync(TimeSpan.FromMinutes(2));
        _finished.TryRemove(id, out _);
        return id;
    }

    private void OnLifeCycleEvent(LifeCycleEvent evt)
    {
        if (evt is WorkflowCompleted)
        {
            _finished.GetOrAdd(evt.WorkflowInstanceId, NewSignal).TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal(string id) => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<(string Check, bool Passed, double[] GapsMs)> CheckAsync(IReadOnlyList<string> ids)
    {
        var store = _services.GetRequiredService<IPersistenceProvider>();
        var instances = (await store.GetWorkflowInstances(ids)).ToList();
        var completed = instances.Count(i => i.Status == WorkflowStatus.Complete);
        var pointers = instances.Sum(i => i.ExecutionPointers.Count);
        var completePointers = instances.Sum(i => i.ExecutionPointers.Count(p => p.Status == PointerStatus.Complete));
        var passed = completed == ids.Count && instances.Count == ids.Count && pointers == 5 * ids.Count && completePointers == pointers;
        var check = $"{completed}/{ids.Count} Complete, {completePointers}/{5 * ids.Count} steps" + (passed ? " ✓" : $" ✗ (found {instances.Count} instances, {pointers} pointers)");
        var gaps = instances
            .SelectMany(i =>
            {
                var starts = i.ExecutionPointers.Where(p => p.StartTime.HasValue).OrderBy(p => p.StepId).Select(p => p.StartTime!.Value).ToList();
                return starts.Zip(starts.Skip(1)).Select(p => (p.Second - p.First).TotalMilliseconds);
            })
            .ToArray();
        return (check, passed, gaps);
    }

    /// <summary>The workflow's data; WorkflowCore needs a data type.</summary>
    internal sealed class BenchData
    {
        public int Unused { get; set; }
    }

    internal sealed class NoOpStep : StepBody
    {
        public override ExecutionResult Run(IStepExecutionContext context) => ExecutionResult.Next();
    }

    internal sealed class NoOpWorkflow : IWorkflow<BenchData>
    {
        public string Id => WorkflowId;

        public int Version => 1;

        public void Build(IWorkflowBuilder<BenchData> builder) => builder
            .StartWith<NoOpStep>()
            .Then<NoOpStep>()
            .Then<NoOpStep>()
            .Then<NoOpStep>()
            .Then<NoOpStep>();
    }
}
