using k8s;
using k8s.Models;

namespace ModelServeShim.Shimlets.Kubernetes.Tests;

/// <summary>
/// A client-side schema check of <c>deploy/kubernetes/</c>: every document deserializes strictly into the client's typed model
/// (unknown kinds and misspelled fields fail), the RBAC is exactly the docs' table (with <c>services/proxy</c> get and create), and
/// the Deployment, Service, volume and Secret fit together.
/// </summary>
public sealed class DeployManifestsTests
{
    private static readonly string Folder = Path.Combine(FindRepositoryRoot(), "deploy", "kubernetes");

    private static readonly Lazy<IReadOnlyList<IKubernetesObject<V1ObjectMeta>>> Objects = new(LoadAll);

    [Fact]
    public void Kustomization_ListsEveryManifest()
    {
        var listed = File.ReadAllLines(Path.Combine(Folder, "kustomization.yaml"))
            .Select(l => l.Trim()).Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..]).Order(StringComparer.Ordinal);

        Assert.Equal(ManifestFiles().Select(Path.GetFileName).Order(StringComparer.Ordinal), listed);
    }

    [Fact]
    public void EveryDocument_IsAKnownKindWithNameAndLabels()
    {
        Assert.Equal(
            ["Deployment", "Namespace", "PersistentVolumeClaim", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
            Objects.Value.Select(o => o.Kind).Order(StringComparer.Ordinal));
        Assert.All(Objects.Value, o =>
        {
            Assert.False(string.IsNullOrEmpty(o.Metadata?.Name), $"{o.Kind} has no name");
            Assert.Equal("model-serve-shim", o.Metadata!.Labels?["app.kubernetes.io/name"]);
        });
    }

    [Fact]
    public void Role_IsExactlyTheDocumentedLeastPrivilege()
    {
        var role = Single<V1Role>();

        var rules = role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.Select(res => (Resource: $"{g}/{res}", Verbs: string.Join(",", r.Verbs.Order(StringComparer.Ordinal))))))
            .OrderBy(r => r.Resource, StringComparer.Ordinal).ToList();

        Assert.Equal(
            [
                ("/pods", "list,watch"),
                ("/pods/log", "get"),
                ("/services", "delete,get,list,patch"),
                ("/services/proxy", "create,get"),
                ("apps/deployments", "delete,get,list,patch,watch"),
                ("apps/deployments/scale", "patch"),
                ("apps/statefulsets", "delete,get,list,patch,watch"),
                ("apps/statefulsets/scale", "patch"),
            ],
            rules);
        // create only on services/proxy (the gateway's POSTs through the API server); objects are created by server-side apply (patch).
        Assert.DoesNotContain(role.Rules, r => r.Verbs.Contains("*") || (r.Verbs.Contains("create") && !r.Resources.SequenceEqual(["services/proxy"])) || r.Resources.Contains("secrets"));
    }

    [Fact]
    public void RoleBinding_BindsTheRoleToTheServiceAccount()
    {
        var binding = Single<V1RoleBinding>();
        var account = Single<V1ServiceAccount>();

        Assert.Equal(("Role", Single<V1Role>().Metadata.Name), (binding.RoleRef.Kind, binding.RoleRef.Name));
        Assert.Equal(Single<V1Role>().Metadata.NamespaceProperty, binding.Metadata.NamespaceProperty);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Kind, subject.Name, subject.NamespaceProperty));
    }

    [Fact]
    public void Deployment_RunsOneReplicaWithProbesTheDataVolumeAndTheApiKeys()
    {
        var deployment = Single<V1Deployment>();
        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);

        Assert.Equal(1, deployment.Spec.Replicas);
        Assert.Equal("Recreate", deployment.Spec.Strategy.Type);
        Assert.Equal(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels);
        Assert.Equal(Single<V1ServiceAccount>().Metadata.Name, pod.ServiceAccountName);
        Assert.All(new[] { container.StartupProbe, container.LivenessProbe, container.ReadinessProbe }, p => Assert.Equal("/healthz", p.HttpGet.Path));
        Assert.Contains("--listen=*", container.Args);
        Assert.Equal(Single<V1Secret>().Metadata.Name, Assert.Single(container.EnvFrom).SecretRef.Name);
        Assert.Contains(Single<V1Secret>().StringData.Keys, k => k.StartsWith("Auth__ApiKeys__0__KeyHash", StringComparison.Ordinal));
        var data = Assert.Single(pod.Volumes, v => v.PersistentVolumeClaim is not null);
        Assert.Equal(Single<V1PersistentVolumeClaim>().Metadata.Name, data.PersistentVolumeClaim.ClaimName);
        Assert.Contains(container.VolumeMounts, m => m.Name == data.Name && container.Args.Contains($"--data-dir={m.MountPath}"));
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
    }

    [Fact]
    public void Service_SelectsThePodsAndTargetsTheNamedPort()
    {
        var service = Single<V1Service>();
        var deployment = Single<V1Deployment>();

        Assert.Equal(deployment.Spec.Template.Metadata.Labels, service.Spec.Selector);
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal("http", port.TargetPort.Value);
        Assert.Contains(Assert.Single(deployment.Spec.Template.Spec.Containers).Ports, p => p.Name == "http");
        Assert.All(Objects.Value.Where(o => o is not V1Namespace && o is not V1Role && o is not V1RoleBinding),
            o => Assert.Equal(Single<V1Namespace>().Metadata.Name, o.Metadata.NamespaceProperty));
    }

    private static T Single<T>() => Assert.Single(Objects.Value.OfType<T>());

    private static IEnumerable<string> ManifestFiles() =>
        Directory.EnumerateFiles(Folder, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml");

    private static List<IKubernetesObject<V1ObjectMeta>> LoadAll() =>
        [.. ManifestFiles().SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), typeMap: null, strict: true)).Cast<IKubernetesObject<V1ObjectMeta>>()];

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelServeShim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ModelServeShim.sln not found above the test binaries");
    }
}
