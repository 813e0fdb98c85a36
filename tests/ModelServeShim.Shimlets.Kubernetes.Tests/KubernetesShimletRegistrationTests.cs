using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesShimletRegistrationTests
{
    [Fact]
    public void AddKubernetesShimlet_BindsTheSection()
    {
        using var provider = Build(new Dictionary<string, string?>
        {
            ["Shimlets:Kubernetes:DefaultNamespace"] = "models",
            ["Shimlets:Kubernetes:Context"] = "gpu-cluster",
            ["Shimlets:Kubernetes:ShmSize"] = "16Gi",
            ["Shimlets:Kubernetes:Accelerators:Values:NVIDIA H20"] = "NVIDIA-H20-96GB",
            ["Shimlets:Kubernetes:Tolerations:0:Key"] = "nvidia.com/gpu",
            ["Shimlets:Kubernetes:Tolerations:0:Operator"] = "Exists",
            ["Shimlets:Kubernetes:Tolerations:0:Effect"] = "NoSchedule",
            ["Shimlets:Kubernetes:ModelVolume:Type"] = "Pvc",
            ["Shimlets:Kubernetes:ModelVolume:ClaimName"] = "models",
            ["Shimlets:Kubernetes:ModelVolume:HostModelRoot"] = "/data/models",
            ["Shimlets:Kubernetes:RuntimeAccess"] = "ApiServerProxy",
            ["Shimlets:Kubernetes:ProxyRequestTimeout"] = "00:00:03",
            ["Shimlets:Kubernetes:LogReadTimeout"] = "00:00:02",
            ["Shimlets:Kubernetes:ImagePullSecrets:0"] = "registry-creds",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<KubernetesShimletOptions>>().Value;

        Assert.Equal((KubernetesRuntimeAccess.ApiServerProxy, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2)),
            (options.RuntimeAccess, options.ProxyRequestTimeout, options.LogReadTimeout));
        Assert.Equal(("models", "gpu-cluster", "16Gi"), (options.DefaultNamespace, options.Context, options.ShmSize));
        Assert.Equal("NVIDIA-H20-96GB", options.Accelerators.Values["nvidia h20"]);
        var toleration = Assert.Single(options.Tolerations);
        Assert.Equal(("nvidia.com/gpu", "Exists", "NoSchedule"), (toleration.Key, toleration.Operator, toleration.Effect));
        Assert.Equal((ModelVolumeType.Pvc, "models"), (options.ModelVolume.Type, options.ModelVolume.ClaimName));
        Assert.Equal(["registry-creds"], options.ImagePullSecrets);
    }

    [Fact]
    public void AddKubernetesShimlet_InvalidSection_FailsAtStartNamingTheKeys()
    {
        using var provider = Build(new Dictionary<string, string?>
        {
            ["Shimlets:Kubernetes:ShmSize"] = "lots",
            ["Shimlets:Kubernetes:ModelVolume:Type"] = "Nfs",
            ["Shimlets:Kubernetes:Tolerations:0:Key"] = "nvidia.com/gpu",
            ["Shimlets:Kubernetes:Tolerations:0:Operator"] = "Sometimes",
            ["Shimlets:Kubernetes:EndpointTemplate"] = "not a url {service}",
            ["Shimlets:Kubernetes:ImagePullSecrets:0"] = "Registry_Creds",
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Shimlets:Kubernetes:ShmSize 'lots'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shimlets:Kubernetes:ModelVolume:NfsServer is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shimlets:Kubernetes:Tolerations:0:Operator 'Sometimes'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shimlets:Kubernetes:EndpointTemplate", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shimlets:Kubernetes:ImagePullSecrets:0 'Registry_Creds' is not a Secret name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKubernetesShimlet_WithoutACluster_ResolvesAndFailsOnlyWhenUsed()
    {
        using var provider = Build(new Dictionary<string, string?>
        {
            ["Shimlets:Kubernetes:KubeconfigPath"] = "/nonexistent/kubeconfig",
        });
        provider.GetRequiredService<IStartupValidator>().Validate();

        var shimlet = Assert.Single(provider.GetServices<IShimlet>());
        Assert.Equal("k8s", shimlet.Name);
        Assert.Same(shimlet, provider.GetRequiredService<IShimlet>());

        var error = await Assert.ThrowsAsync<StepException>(() => shimlet.GetStatusAsync(new ServiceTarget("x-1"), CancellationToken.None));
        Assert.Equal((KubernetesErrorTypes.NotConfigured, false), (error.ErrorType, error.Retryable));
        Assert.Contains("/nonexistent/kubeconfig", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders());
        services.AddKubernetesShimlet(configuration.GetSection(KubernetesShimletOptions.SectionName));
        return services.BuildServiceProvider();
    }
}
