using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The deploy permission policy the <c>permission-check</c> step evaluates (configuration section <c>Policies:Deploy</c>):
/// a JSON file (<see cref="Path"/>, read at every check so an edit applies to the next deploy) or the rules inline
/// (<see cref="Rules"/>), not both. With neither, every permission check refuses.
/// </summary>
public sealed class DeployPolicyOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Policies:Deploy";

    /// <summary>An absolute path of the policy file (<c>{"rules": [...]}</c>, see docs/pipelines/privatellm.md).</summary>
    public string? Path { get; set; }

    /// <summary>The rules inline, in the file's format (section <c>Policies:Deploy:Rules</c>).</summary>
    public List<DeployPolicyRule> Rules { get; set; } = [];
}

/// <summary>Checks the policy at start: one source, an absolute path to a file that parses, valid inline rules.</summary>
internal sealed class DeployPolicyOptionsValidator(AcceleratorCatalog catalog) : IValidateOptions<DeployPolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, DeployPolicyOptions options)
    {
        if (options.Path is not null && options.Rules.Count > 0)
        {
            return ValidateOptionsResult.Fail($"{DeployPolicyOptions.SectionName}: set Path (a policy file) or Rules (inline), not both.");
        }

        if (options.Path is not null)
        {
            if (!System.IO.Path.IsPathFullyQualified(options.Path))
            {
                return ValidateOptionsResult.Fail($"{DeployPolicyOptions.SectionName}:Path '{options.Path}' must be an absolute file path.");
            }

            try
            {
                var errors = CompiledDeployPolicy.TryParse(File.ReadAllText(options.Path), options.Path, catalog, out _);
                return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => $"{DeployPolicyOptions.SectionName}:Path {e}"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return ValidateOptionsResult.Fail($"{DeployPolicyOptions.SectionName}:Path '{options.Path}' cannot be read: {e.Message}");
            }
        }

        var inline = CompiledDeployPolicy.TryCompile(new DeployPolicy { Rules = options.Rules }, DeployPolicyOptions.SectionName, catalog, out _);
        return inline.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(inline);
    }
}

/// <summary>The current deploy policy: the inline rules, or the file read again for each check.</summary>
public sealed class DeployPolicySource(IOptionsMonitor<DeployPolicyOptions> options, AcceleratorCatalog catalog)
{
    /// <summary>The policy to evaluate now.</summary>
    /// <exception cref="StepException">
    /// <see cref="LlmErrorTypes.DeployPolicyNotConfigured"/> or <see cref="LlmErrorTypes.InvalidDeployPolicy"/> (not retryable);
    /// <see cref="LlmErrorTypes.DeployPolicyUnreadable"/> when the file cannot be read (retryable: a network file system recovers).
    /// </exception>
    public async Task<(CompiledDeployPolicy Policy, string Source)> LoadAsync(CancellationToken cancellationToken)
    {
        var current = options.CurrentValue;
        if (current.Path is null && current.Rules.Count == 0)
        {
            throw new StepException(LlmErrorTypes.DeployPolicyNotConfigured,
                $"No deploy policy is configured, so no deploy through a permission check is allowed. Set {DeployPolicyOptions.SectionName}:Path to a policy file, or the rules inline under {DeployPolicyOptions.SectionName}:Rules (see docs/pipelines/privatellm.md).",
                retryable: false);
        }

        if (current.Path is null)
        {
            var inlineErrors = CompiledDeployPolicy.TryCompile(new DeployPolicy { Rules = current.Rules }, DeployPolicyOptions.SectionName, catalog, out var inline);
            return inline is not null ? (inline, DeployPolicyOptions.SectionName)
                : throw new StepException(LlmErrorTypes.InvalidDeployPolicy, $"The deploy policy is invalid: {string.Join(" ", inlineErrors)}", retryable: false);
        }

        string text;
        try
        {
            text = await File.ReadAllTextAsync(current.Path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new StepException(LlmErrorTypes.InvalidDeployPolicy,
                $"The deploy policy file '{current.Path}' ({DeployPolicyOptions.SectionName}:Path) cannot be read: {e.Message} Restore it, or give the server read access.", retryable: false, e);
        }
        catch (IOException e)
        {
            throw new StepException(LlmErrorTypes.DeployPolicyUnreadable, $"Reading the deploy policy file '{current.Path}' failed: {e.Message}", retryable: true, e);
        }

        var errors = CompiledDeployPolicy.TryParse(text, current.Path, catalog, out var policy);
        return policy is not null ? (policy, current.Path)
            : throw new StepException(LlmErrorTypes.InvalidDeployPolicy, $"The deploy policy is invalid: {string.Join(" ", errors)}", retryable: false);
    }
}

/// <summary>
/// The roles of a requester, by API-key name, as the host's authentication knows them now. The name comes from the
/// instance's recorded operator (set from the authenticated key when the instance started), not from the pipeline's
/// input, which a caller of the workflow API chooses.
/// </summary>
public interface IRequesterDirectory
{
    /// <summary>The roles of the key named <paramref name="name"/> (with the roles its role implies); empty for an unknown name.</summary>
    IReadOnlyList<string> RolesOf(string name);
}
