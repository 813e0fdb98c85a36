namespace ModelServeShim.Testing.Kubernetes;

/// <summary>A resource type the fake API server serves.</summary>
public sealed record FakeResource(string Group, string Version, string Plural, string Kind)
{
    public static readonly FakeResource Pods = new(string.Empty, "v1", "pods", "Pod");
    public static readonly FakeResource Services = new(string.Empty, "v1", "services", "Service");
    public static readonly FakeResource Deployments = new("apps", "v1", "deployments", "Deployment");
    public static readonly FakeResource StatefulSets = new("apps", "v1", "statefulsets", "StatefulSet");

    public static readonly IReadOnlyList<FakeResource> All = [Pods, Services, Deployments, StatefulSets];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public bool IsWorkload => this == Deployments || this == StatefulSets;
}
