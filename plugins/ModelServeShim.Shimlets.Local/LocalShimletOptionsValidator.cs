using Microsoft.Extensions.Options;

namespace ModelServeShim.Shimlets.Local;

/// <summary>Cross-field checks of <see cref="LocalShimletOptions"/>; failures name the key to change.</summary>
public sealed class LocalShimletOptionsValidator : IValidateOptions<LocalShimletOptions>
{
    private const string Section = LocalShimletOptions.SectionName;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, LocalShimletOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (options.StateDirectory is { } state && (string.IsNullOrWhiteSpace(state) || state.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            failures.Add($"{Section}:StateDirectory '{state}' is not a valid path.");
        }

        if (!Path.IsPathFullyQualified(options.ShellPath) || !File.Exists(options.ShellPath))
        {
            failures.Add($"{Section}:ShellPath '{options.ShellPath}' must be the absolute path of an existing POSIX shell.");
        }

        if (options.RestartMaxDelay < options.RestartInitialDelay)
        {
            failures.Add($"{Section}:RestartMaxDelay must not be shorter than :RestartInitialDelay.");
        }

        if (options.ReadinessProbeMaxInterval < options.ReadinessProbeInitialInterval)
        {
            failures.Add($"{Section}:ReadinessProbeMaxInterval must not be shorter than :ReadinessProbeInitialInterval.");
        }

        if (!OperatingSystem.IsLinux())
        {
            failures.Add($"{Section}: the local shimlet needs Linux (it reads /proc to re-adopt processes).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
