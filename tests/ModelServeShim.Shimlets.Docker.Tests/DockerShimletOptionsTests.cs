using System.ComponentModel.DataAnnotations;
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
}
