namespace ModelServeShim.Shimlets.Docker.Tests;

public sealed class ResourceQuantitiesTests
{
    [Theory]
    [InlineData("4", 4_000_000_000L)]
    [InlineData("500m", 500_000_000L)]
    [InlineData("0.5", 500_000_000L)]
    [InlineData("1500m", 1_500_000_000L)]
    [InlineData("0", 0L)]
    public void NanoCpus_KubernetesCpuQuantities(string cpu, long expected) =>
        Assert.Equal(expected, ResourceQuantities.NanoCpus(cpu));

    [Theory]
    [InlineData("16Gi", 17_179_869_184L)]
    [InlineData("512Mi", 536_870_912L)]
    [InlineData("1G", 1_000_000_000L)]
    [InlineData("128974848", 128_974_848L)]
    [InlineData("64Ki", 65_536L)]
    public void Bytes_KubernetesMemoryQuantities(string memory, long expected) =>
        Assert.Equal(expected, ResourceQuantities.Bytes(memory));

    [Theory]
    [InlineData("")]
    [InlineData("four")]
    [InlineData("16GB")]
    [InlineData("-1")]
    [InlineData("1e3")]
    public void Bytes_NotAQuantity_Throws(string memory) =>
        Assert.Throws<FormatException>(() => ResourceQuantities.Bytes(memory));

    [Theory]
    [InlineData("{{ port }}", "8081")]
    [InlineData("{{host}}:{{port}}", "127.0.0.1:8081")]
    [InlineData("--port=8080", "--port=8080")]
    public void Substitute_PortAndHostPlaceholders(string argument, string expected) =>
        Assert.Equal(expected, DockerShimlet.Substitute(argument, 8081));
}
