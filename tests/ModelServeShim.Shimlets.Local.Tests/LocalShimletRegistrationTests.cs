using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

public sealed class LocalShimletRegistrationTests
{
    [Fact]
    public async Task AddLocalShimlet_BindsTheSectionAndRegistersTheShimlet()
    {
        await using var provider = Build(new Dictionary<string, string?>
        {
            ["Shimlets:Local:StateDirectory"] = "/tmp/local-shimlet-registration",
            ["Shimlets:Local:MaxRestarts"] = "9",
            ["Shimlets:Local:StopGracePeriod"] = "00:00:30",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<LocalShimletOptions>>().Value;
        var shimlet = Assert.Single(provider.GetServices<IShimlet>());

        Assert.Equal(("/tmp/local-shimlet-registration", 9, TimeSpan.FromSeconds(30)), (options.StateDirectory, options.MaxRestarts, options.StopGracePeriod));
        Assert.Equal("local", shimlet.Name);
        Assert.Same(shimlet, provider.GetRequiredService<LocalShimlet>());
        Assert.Contains(provider.GetServices<IHostedService>(), s => s.GetType().Name == "LocalShimletRecovery");
    }

    [Fact]
    public async Task AddLocalShimlet_WithoutStateDirectory_UsesTheDataDirectory()
    {
        await using var provider = Build(new Dictionary<string, string?> { ["ModelServeShim:DataDir"] = "/tmp/shim-data" });

        var options = provider.GetRequiredService<IOptions<LocalShimletOptions>>().Value;

        Assert.Equal("/tmp/shim-data/local-shimlet", options.StateDirectory);
        Assert.Equal("/tmp/shim-data/local-shimlet", provider.GetRequiredService<LocalShimlet>().StateDirectory);
    }

    [Fact]
    public async Task AddLocalShimlet_InvalidSection_FailsAtStartNamingTheKeys()
    {
        await using var provider = Build(new Dictionary<string, string?>
        {
            ["Shimlets:Local:ShellPath"] = "sh",
            ["Shimlets:Local:RestartInitialDelay"] = "00:00:10",
            ["Shimlets:Local:RestartMaxDelay"] = "00:00:05",
            ["Shimlets:Local:MaxRestarts"] = "-1",
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Shimlets:Local:ShellPath 'sh'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shimlets:Local:RestartMaxDelay must not be shorter", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRestarts", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders());
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLocalShimlet(configuration.GetSection(LocalShimletOptions.SectionName));
        return services.BuildServiceProvider();
    }
}
