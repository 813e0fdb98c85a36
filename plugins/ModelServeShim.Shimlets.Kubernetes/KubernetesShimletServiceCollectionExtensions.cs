using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Registers the Kubernetes shimlet.</summary>
public static class KubernetesShimletServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="KubernetesShimlet"/> as an <see cref="IShimlet"/> singleton, with
    /// <see cref="KubernetesShimletOptions"/> bound from <paramref name="section"/> (normally
    /// <c>Shimlets:Kubernetes</c>) and validated when the host starts. The Kubernetes client is built on first
    /// use, so a host without a cluster starts and only the shimlet's operations fail.
    /// </summary>
    public static IServiceCollection AddKubernetesShimlet(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);

        services.AddOptions<KubernetesShimletOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesShimletOptions>, KubernetesShimletOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IKubernetesClientFactory, KubernetesClientFactory>();
        services.TryAddSingleton<KubernetesShimlet>();
        services.AddSingleton<IShimlet>(sp => sp.GetRequiredService<KubernetesShimlet>());
        return services;
    }
}
