using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>Registers what the opensourcellm pipeline's activities need.</summary>
public static class LlmPipelineServiceCollectionExtensions
{
    /// <summary>
    /// Binds and validates (at start) <see cref="ModelStorageOptions"/> (<c>Models</c>), <see cref="MemoryEstimateOptions"/>
    /// (<c>Models:MemoryEstimate</c>), the accelerator list
    /// (<c>Accelerators</c>), <see cref="RuntimeOptions"/> (<c>Runtimes</c>) and <see cref="HealthCheckOptions"/>
    /// (<c>HealthCheck</c>) and <see cref="DeployPolicyOptions"/> (<c>Policies:Deploy</c>) from the configuration root, and registers the <see cref="ModelPathResolver"/>, the
    /// <see cref="AcceleratorCatalog"/>, the <see cref="RuntimeProfileCatalog"/>, the health check's HTTP client and,
    /// unless the host registered one, an <see cref="IShimletProvider"/> over the registered <see cref="IShimlet"/>s.
    /// The host registers what only it knows: an <see cref="IRequesterDirectory"/> (the permission check's roles) and an
    /// <see cref="Models.Integrity.IChecksumCache"/> (the checksum verification's remembered digests).
    /// The activities themselves are not registered: the runtime creates them; add their assembly to the
    /// activity registry (<c>registry.AddAssembly(typeof(ModelValidationActivity).Assembly, "builtin")</c>).
    /// </summary>
    public static IServiceCollection AddLlmPipelineActivities(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<ModelStorageOptions>()
            .Bind(configuration.GetSection(ModelStorageOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelStorageOptions>, ModelStorageOptionsValidator>());

        services.AddOptions<MemoryEstimateOptions>()
            .Bind(configuration.GetSection(MemoryEstimateOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<AcceleratorCatalogOptions>()
            .Configure(o => configuration.GetSection(AcceleratorCatalogOptions.SectionName).Bind(o.Entries))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcceleratorCatalogOptions>, AcceleratorCatalogOptionsValidator>());

        services.AddOptions<RuntimeOptions>()
            .Bind(configuration.GetSection(RuntimeOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RuntimeOptions>, RuntimeOptionsValidator>());

        services.AddOptions<HealthCheckOptions>()
            .Bind(configuration.GetSection(HealthCheckOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HealthCheckOptions>, HealthCheckOptionsValidator>());

        services.AddOptions<DeployPolicyOptions>()
            .Bind(configuration.GetSection(DeployPolicyOptions.SectionName), o => o.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeployPolicyOptions>, DeployPolicyOptionsValidator>());
        services.TryAddSingleton<DeployPolicySource>();

        services.TryAddSingleton(sp => new ModelPathResolver(sp.GetRequiredService<IOptions<ModelStorageOptions>>().Value.EffectiveRoots));
        services.TryAddSingleton(sp => AcceleratorCatalog.WithDefaults(sp.GetRequiredService<IOptions<AcceleratorCatalogOptions>>().Value.Entries));
        services.TryAddSingleton<RuntimeProfileCatalog>();
        services.TryAddSingleton<IShimletProvider, ServiceProviderShimletProvider>();
        services.AddHttpClient(HealthCheckActivity.HttpClientName);
        return services;
    }
}
