using Microsoft.Extensions.Options;
using ModelServeShim.Hosting;

namespace ModelServeShim.Plugins;

/// <summary>Registers plugin loading.</summary>
public static class PluginsExtensions
{
    /// <summary>Adds <see cref="PluginLoader"/> and its validated options (section <c>Plugins</c>).</summary>
    public static IServiceCollection AddPlugins(this IServiceCollection services)
    {
        services.AddOptions<PluginOptions>().BindConfiguration(PluginOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PluginOptions>, PluginOptionsValidator>();
        services.AddSingleton(sp => PluginDirectory.From(sp.GetRequiredService<IOptions<PluginOptions>>(), sp.GetRequiredService<IOptions<ShimOptions>>()));
        services.AddSingleton<PluginLoader>();
        services.AddHostedService<PluginDirectoryAnnouncer>();
        return services;
    }

    /// <summary>Creates the loader at start (built-in shimlets are dated from then) and says where plugins are read from.</summary>
    private sealed class PluginDirectoryAnnouncer(PluginLoader loader, ILogger<PluginLoader> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation("Plugins are loaded on request (POST /api/v1/plugins/load) from {PluginsDirectory}", loader.Directory);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
