using System.Globalization;
using Microsoft.Extensions.Options;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>Checks <see cref="ModelStorageOptions"/>: absolute roots, plain manifest names.</summary>
internal sealed class ModelStorageOptionsValidator : IValidateOptions<ModelStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelStorageOptions options)
    {
        var errors = new List<string>();
        for (int i = 0; i < options.Roots.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Roots[i]) || !Path.IsPathFullyQualified(options.Roots[i]))
            {
                errors.Add($"{ModelStorageOptions.SectionName}:Roots:{i} '{options.Roots[i]}' must be an absolute directory (e.g. /models).");
            }
        }

        for (int i = 0; i < options.ChecksumManifestNames.Count; i++)
        {
            string manifest = options.ChecksumManifestNames[i];
            if (string.IsNullOrWhiteSpace(manifest) || manifest != Path.GetFileName(manifest))
            {
                errors.Add($"{ModelStorageOptions.SectionName}:ChecksumManifestNames:{i} '{manifest}' must be a plain file name (looked for next to the model).");
            }
        }

        if (errors.Count == 0)
        {
            try
            {
                _ = new ModelPathResolver(options.EffectiveRoots);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{ModelStorageOptions.SectionName}:Roots: {e.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Checks the configured accelerator entries: a name, positive memory, no duplicates.</summary>
internal sealed class AcceleratorCatalogOptionsValidator : IValidateOptions<AcceleratorCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, AcceleratorCatalogOptions options)
    {
        var errors = new List<string>();
        for (int i = 0; i < options.Entries.Count; i++)
        {
            var entry = options.Entries[i];
            string key = $"{AcceleratorCatalogOptions.SectionName}:{i.ToString(CultureInfo.InvariantCulture)}";
            if (string.IsNullOrWhiteSpace(entry.Name))
            {
                errors.Add($"{key}:Name is required (e.g. \"NVIDIA B200\").");
            }

            if (!(entry.MemoryGb > 0) || double.IsInfinity(entry.MemoryGb))
            {
                errors.Add($"{key}:MemoryGb must be a positive number of GB (10^9 bytes) per device; '{entry.Name}' has {entry.MemoryGb.ToString(CultureInfo.InvariantCulture)}.");
            }
        }

        if (errors.Count == 0)
        {
            try
            {
                _ = AcceleratorCatalog.WithDefaults(options.Entries);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{AcceleratorCatalogOptions.SectionName}: {e.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Checks the runtime profiles as merged onto the built-ins (see <see cref="RuntimeProfileCatalog"/>).</summary>
internal sealed class RuntimeOptionsValidator : IValidateOptions<RuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, RuntimeOptions options)
    {
        var (_, _, errors) = RuntimeProfileCatalog.Build(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Checks <see cref="HealthCheckOptions"/>.</summary>
internal sealed class HealthCheckOptionsValidator : IValidateOptions<HealthCheckOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthCheckOptions options)
    {
        var errors = new List<string>();
        if (options.ProbeInterval <= TimeSpan.Zero)
        {
            errors.Add($"{HealthCheckOptions.SectionName}:ProbeInterval must be positive (e.g. 00:00:05).");
        }

        if (options.ProbeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{HealthCheckOptions.SectionName}:ProbeTimeout must be positive (e.g. 00:00:10).");
        }

        if (options.ProbeInitialInterval <= TimeSpan.Zero || options.ProbeInitialInterval > options.ProbeInterval)
        {
            errors.Add($"{HealthCheckOptions.SectionName}:ProbeInitialInterval must be positive and not longer than :ProbeInterval (e.g. 00:00:00.050).");
        }

        if (!(options.ProbeBackoffMultiplier >= 1) || double.IsInfinity(options.ProbeBackoffMultiplier))
        {
            errors.Add($"{HealthCheckOptions.SectionName}:ProbeBackoffMultiplier must be a number of at least 1 (e.g. 2).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
