using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Persistence.Postgres;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>Registers the state store (section <c>State</c>) and the contexts on it.</summary>
public static class StateStoreExtensions
{
    /// <summary>
    /// Binds and validates <see cref="StateOptions"/> and registers the <see cref="StateStore"/> they choose: the SQLite
    /// file <paramref name="sqlitePath"/>, or PostgreSQL. Registering it again changes nothing.
    /// </summary>
    public static IServiceCollection AddStateStore(this IServiceCollection services, IConfiguration configuration, string sqlitePath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(StateStore)))
        {
            return services;
        }

        services.AddOptions<StateOptions>().Bind(configuration.GetSection(StateOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<StateOptions>, StateOptionsValidator>();
        services.AddSingleton<StateStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StateOptions>>().Value;
            return options.Provider == StateProvider.Postgres ? new PostgresStateStore(options) : new SqliteStateStore(sqlitePath);
        });
        return services;
    }

    /// <summary>
    /// Registers a pooled <see cref="IDbContextFactory{TContext}"/> on the state store. On PostgreSQL the contexts are
    /// <typeparamref name="TPostgresContext"/> (the same model with the PostgreSQL migrations, found in its assembly).
    /// </summary>
    public static IServiceCollection AddStateDbContextFactory<TContext, TPostgresContext>(
        this IServiceCollection services, IConfiguration configuration, string? historyTable, IModel? sqliteCompiledModel = null)
        where TContext : DbContext
        where TPostgresContext : TContext
    {
        ArgumentNullException.ThrowIfNull(configuration);

        // The context type is chosen now; the value is validated at start (StateOptions), a bad one stops the start.
        if (ProviderOf(configuration) == StateProvider.Postgres)
        {
            services.AddPooledDbContextFactory<TPostgresContext>((sp, o) =>
                sp.GetRequiredService<StateStore>().Configure(o, historyTable, typeof(TPostgresContext).Assembly));
            services.TryAddSingleton<IDbContextFactory<TContext>>(sp =>
                new ProviderContextFactory<TContext, TPostgresContext>(sp.GetRequiredService<IDbContextFactory<TPostgresContext>>()));
        }
        else
        {
            services.AddPooledDbContextFactory<TContext>((sp, o) =>
            {
                sp.GetRequiredService<StateStore>().Configure(o, historyTable, typeof(TContext).Assembly);
                if (sqliteCompiledModel is not null)
                {
                    // The model compiled for SQLite (scripts/ef-compiled-models.sh) instead of building it at every start;
                    // PostgreSQL builds its own model at run time.
                    o.UseModel(sqliteCompiledModel);
                }
            });
        }

        return services;
    }

    /// <summary>The provider the configuration names (SQLite when it names none or one that does not parse; validation reports that).</summary>
    public static StateProvider ProviderOf(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Enum.TryParse<StateProvider>(configuration[$"{StateOptions.Section}:{nameof(StateOptions.Provider)}"], ignoreCase: true, out var p)
            ? p
            : StateProvider.Sqlite;
    }
}
