using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// Extra or overriding accelerator entries (configuration list <c>Accelerators</c>, e.g.
/// <c>"Accelerators": [ { "Name": "NVIDIA B200", "MemoryGb": 180, "Vendor": "NVIDIA" } ]</c>), applied onto
/// <see cref="AcceleratorCatalog.DefaultEntries"/>: an entry with a default's name replaces it.
/// </summary>
public sealed class AcceleratorCatalogOptions
{
    /// <summary>The configuration key of the list.</summary>
    public const string SectionName = "Accelerators";

    /// <summary>The configured entries.</summary>
    public List<AcceleratorSpec> Entries { get; } = [];
}
