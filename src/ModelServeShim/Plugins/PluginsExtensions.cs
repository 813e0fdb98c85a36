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
        return services;
    }
}
