using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Models.Memory;

/// <summary>
/// An accelerator model and its memory. Memory is in decimal gigabytes (1 GB = 10^9 bytes), as vendors
/// quote it: an "80 GB" H100 is 80 × 10^9 bytes. A plain class so it binds from configuration.
/// </summary>
public sealed class AcceleratorSpec
{
    public AcceleratorSpec()
    {
    }

    public AcceleratorSpec(string name, double memoryGb, string? vendor = null)
    {
        Name = name;
        MemoryGb = memoryGb;
        Vendor = vendor;
    }

    /// <summary>Display and lookup name, e.g. <c>NVIDIA H100</c> (lookup ignores case, spaces and dashes).</summary>
    [Required]
    public string Name { get; set; } = string.Empty;

    /// <summary>Memory per device in GB (10^9 bytes).</summary>
    [Range(0.001, 1_000_000)]
    public double MemoryGb { get; set; }

    public string? Vendor { get; set; }

    /// <summary>Memory per device in bytes (<see cref="MemoryGb"/> × 10^9).</summary>
    public long MemoryBytes => (long)Math.Round(MemoryGb * 1e9);

    public override string ToString() => $"{Name} ({MemoryGb:0.###} GB)";
}
