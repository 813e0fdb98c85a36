using Microsoft.Extensions.Options;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Cross-field checks of <see cref="KubernetesShimletOptions"/>; failures name the key to change.</summary>
public sealed class KubernetesShimletOptionsValidator : IValidateOptions<KubernetesShimletOptions>
{
    private const string Section = KubernetesShimletOptions.SectionName;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, KubernetesShimletOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!KubernetesNames.IsDns1123Label(options.DefaultNamespace))
        {
            failures.Add($"{Section}:DefaultNamespace '{options.DefaultNamespace}' is not a DNS-1123 label.");
        }

        if (!KubernetesManifestRenderer.IsQuantity(options.ShmSize))
        {
            failures.Add($"{Section}:ShmSize '{options.ShmSize}' is not a Kubernetes quantity (e.g. 8Gi).");
        }

        if (!KubernetesNames.IsValidLabelKey(options.Accelerators.LabelKey))
        {
            failures.Add($"{Section}:Accelerators:LabelKey '{options.Accelerators.LabelKey}' is not a valid label key.");
        }

        if (!KubernetesNames.IsValidLabelKey(options.Accelerators.ResourceName))
        {
            failures.Add($"{Section}:Accelerators:ResourceName '{options.Accelerators.ResourceName}' is not a valid resource name.");
        }

        foreach (var (catalogName, value) in options.Accelerators.Values)
        {
            if (!KubernetesNames.IsValidLabelValue(value))
            {
                failures.Add($"{Section}:Accelerators:Values:{catalogName} '{value}' is not a valid label value.");
            }
        }

        for (var i = 0; i < options.ImagePullSecrets.Count; i++)
        {
            var secret = options.ImagePullSecrets[i];
            if (string.IsNullOrEmpty(secret) || secret.Length > 253 || !KubernetesNames.IsDns1123Subdomain(secret))
            {
                failures.Add($"{Section}:ImagePullSecrets:{i} '{secret}' is not a Secret name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.').");
            }
        }

        for (var i = 0; i < options.Tolerations.Count; i++)
        {
            var toleration = options.Tolerations[i];
            var key = $"{Section}:Tolerations:{i}";
            if (toleration.Operator is not ("Equal" or "Exists"))
            {
                failures.Add($"{key}:Operator '{toleration.Operator}' must be Equal or Exists.");
            }
            else if (toleration.Operator == "Exists" && !string.IsNullOrEmpty(toleration.Value))
            {
                failures.Add($"{key}:Value must be empty when the operator is Exists.");
            }

            if (toleration.Effect is not (null or "NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                failures.Add($"{key}:Effect '{toleration.Effect}' must be NoSchedule, PreferNoSchedule, NoExecute or empty.");
            }

            if (!string.IsNullOrEmpty(toleration.Key) && !KubernetesNames.IsValidLabelKey(toleration.Key))
            {
                failures.Add($"{key}:Key '{toleration.Key}' is not a valid taint key.");
            }

            if (string.IsNullOrEmpty(toleration.Key) && toleration.Operator != "Exists")
            {
                failures.Add($"{key}: an empty key needs the operator Exists.");
            }

            if (toleration.TolerationSeconds is not null && toleration.Effect != "NoExecute")
            {
                failures.Add($"{key}:TolerationSeconds only applies to the NoExecute effect.");
            }
        }

        ValidateModelVolume(options.ModelVolume, failures);

        var sample = options.EndpointTemplate
            .Replace("{service}", "svc", StringComparison.Ordinal)
            .Replace("{namespace}", "ns", StringComparison.Ordinal)
            .Replace("{port}", "8080", StringComparison.Ordinal);
        if (!Uri.TryCreate(sample, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            failures.Add($"{Section}:EndpointTemplate '{options.EndpointTemplate}' does not give an absolute http(s) URL.");
        }

        if (options.WatchReconnectMaxDelay < options.WatchReconnectInitialDelay)
        {
            failures.Add($"{Section}:WatchReconnectMaxDelay must not be shorter than :WatchReconnectInitialDelay.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateModelVolume(ModelVolumeOptions volume, List<string> failures)
    {
        var key = $"{Section}:ModelVolume";
        if (volume.HostModelRoot is { } root && !root.StartsWith('/'))
        {
            failures.Add($"{key}:HostModelRoot '{root}' must be an absolute path.");
        }

        switch (volume.Type)
        {
            case ModelVolumeType.HostPath:
                if (volume.NodeModelRoot is { } nodeRoot && (!nodeRoot.StartsWith('/') || volume.HostModelRoot is null))
                {
                    failures.Add($"{key}:NodeModelRoot must be an absolute path and needs :HostModelRoot.");
                }

                break;
            case ModelVolumeType.Pvc:
                if (string.IsNullOrWhiteSpace(volume.ClaimName) || !KubernetesNames.IsDns1123Label(volume.ClaimName))
                {
                    failures.Add($"{key}:ClaimName must name a PersistentVolumeClaim (a DNS-1123 name) when :Type is Pvc.");
                }

                if (volume.HostModelRoot is null)
                {
                    failures.Add($"{key}:HostModelRoot is required when :Type is Pvc (model paths are mounted relative to it).");
                }

                break;
            case ModelVolumeType.Nfs:
                if (string.IsNullOrWhiteSpace(volume.NfsServer))
                {
                    failures.Add($"{key}:NfsServer is required when :Type is Nfs.");
                }

                if (volume.NfsPath is null || !volume.NfsPath.StartsWith('/'))
                {
                    failures.Add($"{key}:NfsPath must be an absolute path when :Type is Nfs.");
                }

                if (volume.HostModelRoot is null)
                {
                    failures.Add($"{key}:HostModelRoot is required when :Type is Nfs (model paths are mounted relative to it).");
                }

                break;
            default:
                failures.Add($"{key}:Type '{volume.Type}' must be HostPath, Pvc or Nfs.");
                break;
        }
    }
}
