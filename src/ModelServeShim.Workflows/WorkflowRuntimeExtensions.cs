using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Activities.Builtin;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;
using ModelServeShim.Workflows.Persistence.CompiledModel;
using ModelServeShim.Workflows.Replicas;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows;

/// <summary>Registers the workflow runtime.</summary>
public static class WorkflowRuntimeExtensions
{
    /// <summary>
    /// Adds the runtime with its state in the store section <c>State</c> chooses (<see cref="StateOptions"/>): the SQLite
    /// file <paramref name="databasePath"/> by default, or PostgreSQL. Hosted services run in order: waiting for the
    /// database and schema migration, the leader election and this replica's lease (PostgreSQL: docs/ha.md), workflow
    /// file loading, then the engine (which resumes this process's instances: all of them on SQLite, the orphaned ones
    /// on PostgreSQL).
    /// </summary>
    public static IServiceCollection AddWorkflowRuntime(this IServiceCollection services, IConfiguration configuration, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient();
        services.AddStateStore(configuration, databasePath);
        services.AddStateDbContextFactory<WorkflowDbContext, PostgresWorkflowDbContext>(configuration, historyTable: null,
            sqliteCompiledModel: WorkflowDbContextModel.Instance);
        services.AddOptions<ReplicaOptions>().Bind(configuration.GetSection(ReplicaOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ReplicaOptions>, ReplicaOptionsValidator>();
        services.TryAddSingleton(new ReplicaClock(TimeProvider.System));
        services.TryAddSingleton<ReplicaRegistry>();
        services.TryAddSingleton<ClusterLeader>();
        services.TryAddSingleton<ReplicaLeases>();

        // The runtime's writes go through the writer of the store chosen above (SQLite's or PostgreSQL's batching
        // writer); the engine does not know which.
        services.TryAddSingleton(sp => sp.GetRequiredService<StateStore>().CreateStateWriter());
        services.AddOptions<WorkflowRuntimeOptions>().Bind(configuration.GetSection(WorkflowRuntimeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WorkflowFileOptions>().Bind(configuration.GetSection(WorkflowRuntimeOptions.Section));
        services.AddSingleton(sp =>
        {
            var registry = new ActivityRegistry();
            registry.AddAssembly(typeof(LogActivity).Assembly, "builtin");
            foreach (var extra in sp.GetServices<ActivityAssembly>())
            {
                registry.AddAssembly(extra.Assembly, extra.Source);
            }

            return registry;
        });
        services.AddSingleton<TemplateEngine>();
        services.AddSingleton<WorkflowCompiler>();
        services.AddSingleton<DefinitionStore>();
        services.AddSingleton(sp => new WriteQueue(sp.GetRequiredService<IStateWriter>(), sp.GetRequiredService<ILogger<WriteQueue>>()));
        services.AddSingleton<WorkflowObservers>();
        services.AddSingleton<WorkflowFileLoader>();
        services.AddSingleton<WorkflowEngine>();
        services.AddHostedService<DatabaseMigrator>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterLeader>());
        services.AddHostedService(sp => sp.GetRequiredService<ReplicaLeases>());
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowFileLoader>());
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        return services;
    }

    /// <summary>Registers the activity types of an assembly (built in, or a library the host references).</summary>
    public static IServiceCollection AddActivities(this IServiceCollection services, System.Reflection.Assembly assembly, string source = "builtin")
    {
        services.AddSingleton(new ActivityAssembly(assembly, source));
        return services;
    }

    private sealed class DatabaseMigrator(IDbContextFactory<WorkflowDbContext> factory, StateStore store, ClusterLeader leader, ILogger<StateStore> logger)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await store.WaitUntilReachableAsync(logger, cancellationToken);
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await leader.MigrateAsync(db.Database, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>An assembly whose activity types the registry loads at start.</summary>
/// <param name="Assembly">The assembly.</param>
/// <param name="Source">Where its types come from (<c>builtin</c> or a plugin name).</param>
public sealed record ActivityAssembly(System.Reflection.Assembly Assembly, string Source);
