using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Activities.Llm;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

/// <summary>Runs the pipeline's health-check step against a shimlet, outside the workflow runtime, recording its journal and outputs.</summary>
internal sealed class HealthCheckRunner(IShimlet shimlet) : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddHttpClient().BuildServiceProvider();

    public TestContext Context { get; private set; } = null!;

    public async Task<ActivityResult> RunAsync(string serviceId, string? ns, string? servedModelName, TimeSpan timeout)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new HealthCheckOptions
        {
            ProbeInterval = TimeSpan.FromMilliseconds(100),
            ProbeTimeout = TimeSpan.FromSeconds(5),
        });
        var activity = new HealthCheckActivity(new Provider(shimlet), _services.GetRequiredService<IHttpClientFactory>(), options)
        {
            Shimlet = shimlet.Name,
            ServiceId = serviceId,
            Namespace = ns,
            ServedModelName = servedModelName,
        };
        using var cancellation = new CancellationTokenSource(timeout);
        Context = new TestContext(cancellation.Token, _services);
        return await activity.ExecuteAsync(Context);
    }

    public void Dispose() => _services.Dispose();

    private sealed class Provider(IShimlet shimlet) : IShimletProvider
    {
        public IReadOnlyList<string> Names => [shimlet.Name];

        public IShimlet? Find(string name) => name == shimlet.Name ? shimlet : null;
    }

    internal sealed class TestContext(CancellationToken cancellationToken, IServiceProvider services) : ActivityContext
    {
        public ConcurrentQueue<(LogLevel Level, string Message, IReadOnlyDictionary<string, object?>? Properties)> Journal { get; } = new();

        public ConcurrentDictionary<string, JsonNode?> Outputs { get; } = new(StringComparer.Ordinal);

        public override string InstanceId => "instance-1";

        public override string DefinitionId => "opensourcellm";

        public override string ActivityId => "health-check";

        public override int Attempt => 1;

        public override string? CorrelationId => null;

        public override string Operator => "tester";

        public override JsonObject WorkflowInput { get; } = [];

        public override CancellationToken CancellationToken => cancellationToken;

        public override TimeProvider TimeProvider => TimeProvider.System;

        public override IServiceProvider Services => services;

        public override void SetOutput(string name, JsonNode? value) => Outputs[name] = value;

        public override void Log(LogLevel level, string message, IReadOnlyDictionary<string, object?>? properties = null) =>
            Journal.Enqueue((level, message, properties));
    }
}
