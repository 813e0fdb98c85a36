namespace ModelServeShim.Shimlets.Kubernetes.Tests;

public sealed class KubernetesNamesTests
{
    [Fact]
    public void ObjectName_ShortValidId_IsTheIdItself()
    {
        Assert.Equal("llama-3-8b-1234", KubernetesNames.ObjectName("llama-3-8b-1234"));
    }

    [Fact]
    public void ObjectName_LongId_IsShortenedWithAStableHash()
    {
        var id = "a-very-long-model-name-for-testing-0f8e6c1a-1b2c-4d5e-8f90-123456789abc";
        var other = id[..^1] + "d";

        var name = KubernetesNames.ObjectName(id);

        Assert.True(name.Length <= KubernetesNames.MaxObjectNameLength);
        Assert.True(KubernetesNames.IsDns1123Label(name));
        Assert.Equal(name, KubernetesNames.ObjectName(id));
        Assert.NotEqual(name, KubernetesNames.ObjectName(other));
        Assert.True(KubernetesNames.ServiceIdLabel(id).Length <= 63);
        Assert.True(KubernetesNames.IsValidLabelValue(KubernetesNames.ServiceIdLabel(id)));
    }

    [Theory]
    [InlineData("7b-model-1", "m-7b-model-1-")]
    [InlineData("Qwen2.5_7B-1", "qwen2-5-7b-1-")]
    public void ObjectName_IdNeedingChanges_BecomesADns1035LabelWithHash(string id, string prefix)
    {
        var name = KubernetesNames.ObjectName(id);

        Assert.StartsWith(prefix, name, StringComparison.Ordinal);
        Assert.True(KubernetesNames.IsDns1123Label(name) && char.IsAsciiLetterLower(name[0]));
    }

    [Theory]
    [InlineData("team", true)]
    [InlineData("example.com/team", true)]
    [InlineData("Example.com/team", false)]
    [InlineData("-team", false)]
    [InlineData("a/b/c", false)]
    public void IsValidLabelKey_FollowsKubernetesSyntax(string key, bool valid)
    {
        Assert.Equal(valid, KubernetesNames.IsValidLabelKey(key));
    }
}
