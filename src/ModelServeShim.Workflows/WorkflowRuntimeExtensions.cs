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
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows;

/// <summary>Registers the workflow runtime.</summary>
public static class WorkflowRuntimeExtensions
{
    /// <summary>
    /// Adds the runtime with its state in the store section <c>State</c> chooses (<see cref="StateOptions"/>): the SQLite
    /// file <paramref name="databasePath"/> by default, or PostgreSQL. Hosted services run in order: waiting for the
    /// database (and, on PostgreSQL, for the active-replica lock) and schema migration, workflow file loading, then the
    /// engine (which resumes instances).
    /// </summary>
    public static IServiceCollection AddWorkflowRuntime(this IServiceCollection services, IConfiguration configuration, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient();
        services.AddStateStore(configuration, databasePath);
        services.AddStateDbContextFactory<WorkflowDbContext, PostgresWorkflowDbContext>(configuration, historyTable: null,
            sqliteCompiledModel: WorkflowDbContextModel.Instance);
        services.TryAddSingleton<ActiveReplicaLock>();

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

    private sealed class DatabaseMigrator(IDbContextFactory<WorkflowDbContext> factory, StateStore store, ActiveReplicaLock active, ILogger<StateStore> logger)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await store.WaitUntilReachableAsync(logger, cancellationToken);

            // On PostgreSQL a second replica waits here as a standby until the active one stops (ActiveReplicaLock).
            await active.AcquireAsync(cancellationToken);
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await db.Database.MigrateIfBehindAsync(cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>An assembly whose activity types the registry loads at start.</summary>
/// <param name="Assembly">The assembly.</param>
/// <param name="Source">Where its types come from (<c>builtin</c> or a plugin name).</param>
public sealed record ActivityAssembly(System.Reflection.Assembly Assembly, string Source);
