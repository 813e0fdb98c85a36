using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>Registers the local shimlet.</summary>
public static class LocalShimletServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LocalShimlet"/> as an <see cref="IShimlet"/> singleton, with <see cref="LocalShimletOptions"/>
    /// bound from <paramref name="section"/> (normally <c>Shimlets:Local</c>) and validated when the host starts, and a
    /// hosted service that re-adopts or restarts the recorded processes at start. Without
    /// <c>StateDirectory</c>, state goes to <c>&lt;ModelServeShim:DataDir&gt;/local-shimlet</c>.
    /// </summary>
    public static IServiceCollection AddLocalShimlet(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);

        services.AddOptions<LocalShimletOptions>()
            .Bind(section)
            .PostConfigure<IServiceProvider>((options, provider) =>
            {
                if (options.StateDirectory is null)
                {
                    var dataDir = provider.GetService<IConfiguration>()?["ModelServeShim:DataDir"];
                    options.StateDirectory = Path.Combine(Path.GetFullPath(string.IsNullOrWhiteSpace(dataDir) ? "data" : dataDir), "local-shimlet");
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalShimletOptions>, LocalShimletOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LocalShimlet>();
        services.AddSingleton<IShimlet>(sp => sp.GetRequiredService<LocalShimlet>());
        services.AddHostedService<LocalShimletRecovery>();
        return services;
    }
}

/// <summary>Adopts or restarts the recorded processes when the host starts, instead of on first use.</summary>
internal sealed class LocalShimletRecovery(LocalShimlet shimlet) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => shimlet.RecoverAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
