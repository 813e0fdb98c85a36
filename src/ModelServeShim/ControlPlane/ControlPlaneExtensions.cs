using Microsoft.EntityFrameworkCore;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Activities.Llm;
using ModelServeShim.Models.Integrity;
using ModelServeShim.Security;
using ModelServeShim.ControlPlane.CompiledModel;
using ModelServeShim.Shimlets.Kubernetes;
using ModelServeShim.Shimlets.Local;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Replicas;

namespace ModelServeShim.ControlPlane;

/// <summary>Registers the control plane: services, lifecycle, shimlets, health monitor, metrics.</summary>
public static class ControlPlaneExtensions
{
    /// <summary>Adds the control plane, storing its state in the runtime's store (the SQLite file <paramref name="databasePath"/>, or PostgreSQL).</summary>
    public static IServiceCollection AddControlPlane(this IServiceCollection services, IConfiguration configuration, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddStateStore(configuration, databasePath);
        services.AddStateDbContextFactory<ControlPlaneDbContext, PostgresControlPlaneDbContext>(configuration, ControlPlaneDbContext.HistoryTable,
            sqliteCompiledModel: ControlPlaneDbContextModel.Instance);
        services.AddOptions<ControlPlaneOptions>().BindConfiguration(ControlPlaneOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // The pipeline's step activities, their options (Models, Accelerators, Runtimes, HealthCheck) and the
        // accelerator catalog the deploy validation shares with model-validation.
        services.AddLlmPipelineActivities(configuration);
        services.AddActivities(typeof(ModelValidationActivity).Assembly);
        services.AddSingleton<IRequesterDirectory, RequesterDirectory>();
        services.AddSingleton<IChecksumCache, ChecksumCacheStore>();

        services.AddKubernetesShimlet(configuration.GetSection("Shimlets:Kubernetes"));
        services.AddLocalShimlet(configuration.GetSection("Shimlets:Local"));
        services.AddSingleton<ShimletProvider>();
        services.AddSingleton<IShimletProvider>(sp => sp.GetRequiredService<ShimletProvider>());

        services.AddSingleton<ShimMetrics>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<ShimMetrics>());
        services.AddSingleton<JournalBroadcaster>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<JournalBroadcaster>());
        services.AddOptions<EventFeedOptions>().BindConfiguration(EventFeedOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EventLog>(sp =>
        {
            var options = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<EventFeedOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            // PostgreSQL: the events of every replica through server_events; SQLite (one process): numbered in memory.
            return sp.GetRequiredService<StateStore>() is Workflows.Persistence.Postgres.PostgresStateStore postgres
                ? new PostgresEventLog(postgres, options, sp.GetRequiredService<JournalBroadcaster>(), time, sp.GetRequiredService<ILogger<PostgresEventLog>>())
                : new MemoryEventLog(options.MemoryCapacity, time);
        });
        services.AddSingleton<EventBroadcaster>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<EventBroadcaster>());
        services.AddSingleton<PipelineEventQueue>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<PipelineEventQueue>());
        services.AddSingleton<PipelineFactsReader>();
        services.AddSingleton<ServiceStore>();
        services.AddSingleton<ServiceOperations>();
        services.AddSingleton<DeployValidation>();
        services.AddSingleton<ServiceCommands>();
        services.AddSingleton<PipelineProjection>();
        services.AddHostedService<ControlPlaneMigrator>();
        services.AddHostedService<EventFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<PipelineProjection>());
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        return services;
    }

    /// <summary>Runs the event log's background work once the schema is migrated (the broadcaster is connected to it first).</summary>
    private sealed class EventFeed(EventBroadcaster broadcaster, EventLog log) : Workflows.QuietBackgroundService
    {
        protected override Task RunAsync(CancellationToken stoppingToken)
        {
            GC.KeepAlive(broadcaster);
            return log.RunAsync(stoppingToken);
        }
    }

    private sealed class ControlPlaneMigrator(
        IDbContextFactory<ControlPlaneDbContext> factory, ClusterLeader leader, IShimletProvider shimlets, TimeProvider time, ILogger<ShimMetrics> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await leader.MigrateAsync(db.Database, cancellationToken);
            ShimMetrics.RegisterCollector(factory, shimlets, time, logger);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
