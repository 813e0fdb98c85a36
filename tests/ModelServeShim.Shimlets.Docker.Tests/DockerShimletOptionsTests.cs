using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ModelServeShim.Shimlets.Docker.Tests;

/// <summary>Option checks at construction; no dockerd needed (the client connects only when used).</summary>
public sealed class DockerShimletOptionsTests
{
    [Fact]
    public void StatusReadMaxIntervalShorterThanInitial_FailsNamingTheKeys()
    {
        var options = new DockerShimletOptions { StatusReadInitialInterval = TimeSpan.FromMilliseconds(300), StatusReadMaxInterval = TimeSpan.FromMilliseconds(200) };

        var error = Assert.Throws<ValidationException>(() => new DockerShimlet(options, NullLogger.Instance));

        Assert.Contains("Shimlets:Docker:StatusReadMaxInterval", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EqualInitialAndMaxInterval_IsAccepted()
    {
        var options = new DockerShimletOptions { StatusReadInitialInterval = TimeSpan.FromMilliseconds(100), StatusReadMaxInterval = TimeSpan.FromMilliseconds(100) };

        var shimlet = new DockerShimlet(options, NullLogger.Instance);

        Assert.Equal("docker", shimlet.Name);
    }

    [Fact]
    public void AcceleratorDevices_BindFromConfiguration_ByTypeIgnoringCase()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Shimlets:Docker:AcceleratorDevices:NVIDIA L4:0"] = "0",
            ["Shimlets:Docker:AcceleratorDevices:NVIDIA L4:1"] = "GPU-1b2c",
        }).Build();
        var options = new DockerShimletOptions();

        configuration.GetSection(DockerShimletOptions.SectionName).Bind(options);

        Assert.Equal(["0", "GPU-1b2c"], options.AcceleratorDevices["nvidia l4"]);
        Assert.Equal("docker", new DockerShimlet(configuration, NullLogger<DockerShimlet>.Instance).Name);
    }

    [Fact]
    public void AcceleratorDevices_WithABlankId_FailsNamingTheKey()
    {
        var options = new DockerShimletOptions();
        options.AcceleratorDevices["NVIDIA L4"] = [" "];

        var error = Assert.Throws<ValidationException>(() => new DockerShimlet(options, NullLogger.Instance));

        Assert.Contains("Shimlets:Docker:AcceleratorDevices:NVIDIA L4", error.Message, StringComparison.Ordinal);
    }
}
