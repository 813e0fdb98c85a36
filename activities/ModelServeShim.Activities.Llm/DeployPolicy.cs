using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DotNet.Globbing;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// Who may deploy what: an ordered list of rules, the first rule that applies to the requester and matches the deploy
/// decides (allow or deny); when none does, the deploy is refused. The format is documented in docs/pipelines/privatellm.md.
/// </summary>
public sealed class DeployPolicy
{
    /// <summary>The rules, in the order they are evaluated.</summary>
    public List<DeployPolicyRule> Rules { get; set; } = [];
}

/// <summary>Whether a matching rule allows or refuses the deploy.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeployPolicyEffect>))]
public enum DeployPolicyEffect
{
    /// <summary>The deploy may go on.</summary>
    Allow,

    /// <summary>The deploy is refused.</summary>
    Deny,
}

/// <summary>
/// One rule. It applies to a requester whose API-key name matches one of <see cref="Keys"/> or who has one of
/// <see cref="Roles"/>; it matches a deploy when every condition it sets holds (an absent condition holds for any value).
/// </summary>
public sealed class DeployPolicyRule
{
    /// <summary>The rule's name, quoted when it decides (required, unique).</summary>
    public string Name { get; set; } = "";

    /// <summary><c>allow</c> (default) or <c>deny</c>.</summary>
    public DeployPolicyEffect Effect { get; set; } = DeployPolicyEffect.Allow;

    /// <summary>Globs of API-key names (<c>ci-*</c>); <c>*</c> for every key.</summary>
    public List<string>? Keys { get; set; }

    /// <summary>Roles (<c>operator</c>, <c>admin</c>, …); a key has its role and the roles it implies.</summary>
    public List<string>? Roles { get; set; }

    /// <summary>Directories the model must be inside (after symbolic links), e.g. <c>/models/licensed</c>.</summary>
    public List<string>? ModelRoots { get; set; }

    /// <summary>Globs of model names (<c>llama-*</c>).</summary>
    public List<string>? ModelNames { get; set; }

    /// <summary>Accelerator catalog names allowed; a deploy on CPU (count 0) uses none and satisfies this.</summary>
    public List<string>? AcceleratorTypes { get; set; }

    /// <summary>Most accelerators per replica.</summary>
    public int? MaxAcceleratorCount { get; set; }

    /// <summary>Most accelerators for all replicas together (per replica × replicas).</summary>
    public int? MaxTotalAccelerators { get; set; }

    /// <summary>Globs of namespaces; a request without a namespace matches only <c>*</c>.</summary>
    public List<string>? Namespaces { get; set; }
}

/// <summary>Who asks: the API key's name and its roles.</summary>
/// <param name="Name">The API key's name (<c>anonymous</c> without keys).</param>
/// <param name="Roles">The key's role and the roles it implies.</param>
public sealed record DeployRequester(string Name, IReadOnlyList<string> Roles)
{
    /// <inheritdoc />
    public override string ToString() => $"'{Name}' (roles: {(Roles.Count == 0 ? "none" : string.Join(", ", Roles))})";
}

/// <summary>What is asked, as the policy sees it.</summary>
/// <param name="ModelName">The model (service) name.</param>
/// <param name="ModelPath">The canonical model path (inside a model root).</param>
/// <param name="AcceleratorType">The accelerator catalog name, canonical; null on CPU.</param>
/// <param name="AcceleratorCount">Accelerators per replica.</param>
/// <param name="Replicas">Replicas.</param>
/// <param name="Namespace">The namespace, when the request names one.</param>
public sealed record DeployPolicyRequest(string ModelName, string ModelPath, string? AcceleratorType, int AcceleratorCount, int Replicas, string? Namespace)
{
    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"'{ModelName}' from '{ModelPath}' on {(AcceleratorCount > 0 ? $"{AcceleratorCount} × {AcceleratorType}" : "CPU")} × {Replicas} replica(s) in {(Namespace is null ? "the default namespace" : $"namespace '{Namespace}'")}");
}

/// <summary>The policy's answer.</summary>
/// <param name="Allowed">Whether the deploy may go on.</param>
/// <param name="Rule">The rule that decided, or, when none did, the first rule that applies to the requester; null when no rule applies to them.</param>
/// <param name="RuleJson">That rule as JSON, to quote it.</param>
/// <param name="Reason">The decision for a person: the rule quoted and, for a refusal, what did not match.</param>
public sealed record DeployPolicyDecision(bool Allowed, string? Rule, string? RuleJson, string Reason);

/// <summary>A <see cref="DeployPolicy"/> checked and ready to evaluate (globs parsed, accelerator names canonical).</summary>
public sealed class CompiledDeployPolicy
{
    /// <summary>The file format: camelCase, unknown fields are errors, enum values by name.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 16,
    };

    private static readonly GlobOptions CaseSensitive = new() { Evaluation = { CaseInsensitive = false } };

    private readonly List<CompiledRule> _rules;

    private CompiledDeployPolicy(List<CompiledRule> rules) => _rules = rules;

    /// <summary>The number of rules.</summary>
    public int Count => _rules.Count;

    /// <summary>Parses a policy file's text.</summary>
    /// <param name="json">The file's content.</param>
    /// <param name="source">The file's path, for messages.</param>
    /// <param name="catalog">The accelerator catalog the rules' types are checked against.</param>
    /// <param name="policy">The policy, when the text is valid.</param>
    /// <returns>The errors: each names the place (<c>rules[2].acceleratorTypes[0]</c>) and the fix; empty when valid.</returns>
    public static IReadOnlyList<string> TryParse(string json, string source, AcceleratorCatalog catalog, out CompiledDeployPolicy? policy)
    {
        policy = null;
        DeployPolicy? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<DeployPolicy>(json, Json);
        }
        catch (JsonException e)
        {
            return [$"{source}: {e.Message.Split(" Path:")[0].Replace("ModelServeShim.Activities.Llm.", "", StringComparison.Ordinal)} (at {e.Path}). Check the field's name and type against the documented format."];
        }

        if (parsed is null)
        {
            return [$"{source}: the policy is null; write an object {{\"rules\": [...]}}."];
        }

        return TryCompile(parsed, source, catalog, out policy);
    }

    /// <summary>Checks and compiles <paramref name="policy"/>.</summary>
    /// <param name="policy">The rules.</param>
    /// <param name="source">Where they come from (a file, or the configuration section), for messages.</param>
    /// <param name="catalog">The accelerator catalog the rules' types are checked against.</param>
    /// <param name="compiled">The compiled policy, when valid.</param>
    /// <returns>The errors; empty when valid.</returns>
    public static IReadOnlyList<string> TryCompile(DeployPolicy policy, string source, AcceleratorCatalog catalog, out CompiledDeployPolicy? compiled)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(catalog);
        compiled = null;
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var rules = new List<CompiledRule>();
        for (int i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            string at = $"{source}: rules[{i}]";
            if (rule is null)
            {
                errors.Add($"{at} is null; write a rule object.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                errors.Add($"{at}.name is required: it is quoted when the rule decides.");
            }
            else if (!names.Add(rule.Name))
            {
                errors.Add($"{at}.name '{rule.Name}' is used by an earlier rule; names must be unique.");
            }

            if ((rule.Keys is null || rule.Keys.Count == 0) && (rule.Roles is null || rule.Roles.Count == 0))
            {
                errors.Add($"{at} names no keys and no roles, so it applies to nobody; add \"keys\": [\"*\"] for every key, or the roles it is for.");
            }

            var keys = Globs(rule.Keys, $"{at}.keys", errors);
            var modelNames = Globs(rule.ModelNames, $"{at}.modelNames", errors);
            var namespaces = Globs(rule.Namespaces, $"{at}.namespaces", errors);
            ModelPathResolver? roots = null;
            if (rule.ModelRoots is { Count: > 0 } modelRoots)
            {
                for (int r = 0; r < modelRoots.Count; r++)
                {
                    if (string.IsNullOrWhiteSpace(modelRoots[r]) || !Path.IsPathFullyQualified(modelRoots[r]))
                    {
                        errors.Add($"{at}.modelRoots[{r}] '{modelRoots[r]}' must be an absolute directory, e.g. /models/licensed.");
                    }
                }

                if (modelRoots.TrueForAll(r => !string.IsNullOrWhiteSpace(r) && Path.IsPathFullyQualified(r)))
                {
                    roots = new ModelPathResolver(modelRoots);
                }
            }

            HashSet<string>? types = null;
            if (rule.AcceleratorTypes is { Count: > 0 } acceleratorTypes)
            {
                types = new HashSet<string>(StringComparer.Ordinal);
                for (int t = 0; t < acceleratorTypes.Count; t++)
                {
                    if (catalog.TryGet(acceleratorTypes[t] ?? "", out var spec))
                    {
                        types.Add(spec.Name);
                    }
                    else
                    {
                        errors.Add($"{at}.acceleratorTypes[{t}] '{acceleratorTypes[t]}' is not in the accelerator catalog (known: {string.Join(", ", catalog.Entries.Select(e => e.Name))}).");
                    }
                }
            }

            if (rule.MaxAcceleratorCount is < 0)
            {
                errors.Add($"{at}.maxAcceleratorCount must be 0 or more.");
            }

            if (rule.MaxTotalAccelerators is < 0)
            {
                errors.Add($"{at}.maxTotalAccelerators must be 0 or more.");
            }

            rules.Add(new CompiledRule(rule, JsonSerializer.Serialize(rule, Json), keys, modelNames, namespaces, roots, types));
        }

        if (errors.Count == 0)
        {
            compiled = new CompiledDeployPolicy(rules);
        }

        return errors;
    }

    /// <summary>Decides whether <paramref name="requester"/> may make <paramref name="request"/>.</summary>
    public DeployPolicyDecision Evaluate(DeployRequester requester, DeployPolicyRequest request)
    {
        ArgumentNullException.ThrowIfNull(requester);
        ArgumentNullException.ThrowIfNull(request);
        CompiledRule? firstApplying = null;
        string? firstMismatch = null;
        foreach (var rule in _rules)
        {
            if (!rule.AppliesTo(requester))
            {
                continue;
            }

            string? mismatch = rule.Mismatch(request);
            if (mismatch is null)
            {
                return rule.Rule.Effect == DeployPolicyEffect.Allow
                    ? new DeployPolicyDecision(true, rule.Rule.Name, rule.Text, $"Rule '{rule.Rule.Name}' {rule.Text} allows {requester} to deploy {request}.")
                    : new DeployPolicyDecision(false, rule.Rule.Name, rule.Text, $"Rule '{rule.Rule.Name}' {rule.Text} denies this deploy: {requester} may not deploy {request}. Ask an admin to change the deploy policy if it should be allowed.");
            }

            if (firstApplying is null && rule.Rule.Effect == DeployPolicyEffect.Allow)
            {
                firstApplying = rule;
                firstMismatch = mismatch;
            }
        }

        if (firstApplying is null)
        {
            return new DeployPolicyDecision(false, null, null,
                $"No rule allows {requester} to deploy {request}: no allow rule of the deploy policy names this key or its roles. Ask an admin to add a rule for it.");
        }

        return new DeployPolicyDecision(false, firstApplying.Rule.Name, firstApplying.Text,
            $"No rule allows {requester} to deploy {request}. Rule '{firstApplying.Rule.Name}' {firstApplying.Text} applies to this key but {firstMismatch}. Change the request to fit the rule, or ask an admin to change the deploy policy.");
    }

    private static List<(string Text, Glob Glob)>? Globs(List<string>? patterns, string at, List<string> errors)
    {
        if (patterns is null || patterns.Count == 0)
        {
            return null;
        }

        var globs = new List<(string, Glob)>();
        for (int i = 0; i < patterns.Count; i++)
        {
            string? pattern = patterns[i];
            if (string.IsNullOrWhiteSpace(pattern) || pattern.Length > 253)
            {
                errors.Add($"{at}[{i}] must be a non-empty glob of at most 253 characters (e.g. \"llama-*\").");
                continue;
            }

            try
            {
                globs.Add((pattern, Glob.Parse(pattern, CaseSensitive)));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
            {
                errors.Add($"{at}[{i}] '{pattern}' is not a valid glob ({e.Message}); use '*', '?', '[abc]' and literal characters.");
            }
        }

        return globs;
    }

    private sealed record CompiledRule(
        DeployPolicyRule Rule,
        string Text,
        List<(string Text, Glob Glob)>? Keys,
        List<(string Text, Glob Glob)>? ModelNames,
        List<(string Text, Glob Glob)>? Namespaces,
        ModelPathResolver? Roots,
        HashSet<string>? AcceleratorTypes)
    {
        public bool AppliesTo(DeployRequester requester) =>
            (Keys?.Exists(k => k.Glob.IsMatch(requester.Name)) ?? false)
            || (Rule.Roles?.Exists(r => requester.Roles.Contains(r, StringComparer.OrdinalIgnoreCase)) ?? false);

        /// <summary>The first condition the request does not meet, for a person; null when it meets them all.</summary>
        public string? Mismatch(DeployPolicyRequest request)
        {
            if (Roots is not null && !Roots.TryResolve(request.ModelPath, out _, out _, mustExist: false))
            {
                return $"the model path '{request.ModelPath}' is outside its modelRoots ({string.Join(", ", Rule.ModelRoots!)})";
            }

            if (ModelNames is not null && !ModelNames.Exists(g => g.Glob.IsMatch(request.ModelName)))
            {
                return $"the model name '{request.ModelName}' matches none of its modelNames ({string.Join(", ", ModelNames.Select(g => g.Text))})";
            }

            if (request.AcceleratorCount > 0)
            {
                if (AcceleratorTypes is not null && (request.AcceleratorType is null || !AcceleratorTypes.Contains(request.AcceleratorType)))
                {
                    return $"it does not allow accelerator type '{request.AcceleratorType}' (its acceleratorTypes: {string.Join(", ", AcceleratorTypes.Order(StringComparer.Ordinal))})";
                }

                if (Rule.MaxAcceleratorCount is { } max && request.AcceleratorCount > max)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{request.AcceleratorCount} accelerators per replica exceed its maxAcceleratorCount {max}");
                }

                long total = (long)request.AcceleratorCount * request.Replicas;
                if (Rule.MaxTotalAccelerators is { } maxTotal && total > maxTotal)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{request.AcceleratorCount} × {request.Replicas} replica(s) = {total} accelerators exceed its maxTotalAccelerators {maxTotal}");
                }
            }

            if (Namespaces is not null && !Namespaces.Exists(g => g.Glob.IsMatch(request.Namespace ?? "")))
            {
                return request.Namespace is null
                    ? $"the request names no namespace and its namespaces ({string.Join(", ", Namespaces.Select(g => g.Text))}) do not include '*'; name one of them"
                    : $"the namespace '{request.Namespace}' matches none of its namespaces ({string.Join(", ", Namespaces.Select(g => g.Text))})";
            }

            return null;
        }
    }
}
