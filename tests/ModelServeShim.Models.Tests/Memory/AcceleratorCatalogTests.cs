using ModelServeShim.Models.Memory;

namespace ModelServeShim.Models.Tests.Memory;

public sealed class AcceleratorCatalogTests
{
    [Theory]
    [InlineData("NVIDIA H20", 96_000_000_000)]
    [InlineData("nvidia h100", 80_000_000_000)]
    [InlineData("H200", 141_000_000_000)]
    [InlineData("NVIDIA A100 40GB", 40_000_000_000)]
    [InlineData("a100-80gb", 80_000_000_000)]
    [InlineData("NVIDIA L40S", 48_000_000_000)]
    [InlineData("L4", 24_000_000_000)]
    [InlineData("NVIDIA A10", 24_000_000_000)]
    [InlineData("RTX 4090", 24_000_000_000)]
    [InlineData("nvidia geforce rtx 4090", 24_000_000_000)]
    public void Get_DefaultNames_IgnoreCaseSpacingAndVendor(string name, long expectedBytes)
    {
        Assert.Equal(expectedBytes, AcceleratorCatalog.Default.Get(name).MemoryBytes);
    }

    [Fact]
    public void Get_AmbiguousOrUnknownName_ThrowsListingKnownNames()
    {
        Assert.False(AcceleratorCatalog.Default.TryGet("A100", out _)); // 40 GB and 80 GB are distinct entries
        var error = Assert.Throws<KeyNotFoundException>(() => AcceleratorCatalog.Default.Get("TPU v5e"));
        Assert.Contains("NVIDIA H20", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithDefaults_UserEntries_AddAndOverride()
    {
        var catalog = AcceleratorCatalog.WithDefaults([new AcceleratorSpec { Name = "AMD MI300X", MemoryGb = 192, Vendor = "AMD" }, new AcceleratorSpec("nvidia l4", 22.5)]);

        Assert.Equal(192_000_000_000, catalog.Get("MI300X").MemoryBytes);
        Assert.Equal(22_500_000_000, catalog.Get("NVIDIA L4").MemoryBytes);
        Assert.Equal(AcceleratorCatalog.DefaultEntries.Count + 1, catalog.Entries.Count);
    }

    [Fact]
    public void Constructor_DuplicateOrEmptyEntries_Throw()
    {
        Assert.Throws<ArgumentException>(() => new AcceleratorCatalog([new AcceleratorSpec("X", 1), new AcceleratorSpec("x", 2)]));
        Assert.Throws<ArgumentException>(() => new AcceleratorCatalog([new AcceleratorSpec("X", 0)]));
    }
}
