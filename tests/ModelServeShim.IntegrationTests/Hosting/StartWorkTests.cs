using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelServeShim.Hosting;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Hosting;

/// <summary>What the start does not do before <c>/healthz</c> answers (docs/benchmarks.md, "One binary", run 7).</summary>
public sealed class StartWorkTests
{
    [Fact]
    public async Task Start_DoesNotLoadTheDataProtectionKeyRing_WhichStillWorksOnFirstUse()
    {
        using var factory = new ShimFactory();
        var client = factory.CreateClient();
        Assert.True((await client.GetAsync("/healthz")).IsSuccessStatusCode);

        // The name is the real type's (ASP.NET Core registers it with AddDataProtection), so its absence means something.
        Assert.NotNull(typeof(DataProtectionOptions).Assembly.GetType(HostingExtensions.KeyRingWarmUpService));
        var hosted = factory.Services.GetServices<IHostedService>().Select(s => s.GetType().FullName).ToList();
        Assert.DoesNotContain(HostingExtensions.KeyRingWarmUpService, hosted);
        Assert.Contains(hosted, h => h!.StartsWith("ModelServeShim.", StringComparison.Ordinal));

        var protector = factory.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("start-work-test");
        Assert.Equal("secret", protector.Unprotect(protector.Protect("secret")));
    }
}
