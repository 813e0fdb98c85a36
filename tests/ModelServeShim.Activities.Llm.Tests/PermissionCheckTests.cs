using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>The permission-check step in the real runtime: the requester is the instance's operator, with the roles the directory gives it.</summary>
public sealed class PermissionCheckTests
{
    private const string Type = PermissionCheckActivity.TypeName;

    private static JsonObject Inputs(string accelerator = "NVIDIA H20", int count = 1) => new()
    {
        ["modelName"] = "sample",
        ["modelFile"] = "sample/sample-llama-f32.gguf",
        ["acceleratorType"] = accelerator,
        ["acceleratorCount"] = count,
        ["replicaCount"] = 1,
        ["namespace"] = "",
    };

    private static Dictionary<string, string?> InlinePolicy => new()
    {
        ["Policies:Deploy:Rules:0:Name"] = "operators-on-h20",
        ["Policies:Deploy:Rules:0:Roles:0"] = "operator",
        ["Policies:Deploy:Rules:0:AcceleratorTypes:0"] = "NVIDIA H20",
        ["Policies:Deploy:Rules:0:Namespaces:0"] = "*",
    };

    [Fact]
    public async Task KeyNotAllowedTheAcceleratorType_FailsPermissionDenied_QuotingTheRule_WithoutRetry()
    {
        await using var h = await LlmHarness.StartAsync(InlinePolicy);
        h.Requesters.Set("tester", "viewer", "operator");
        await h.SaveSingleStepAsync("check", Type, Inputs("NVIDIA L4"));

        var instance = await h.RunAsync("check");

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal(LlmErrorTypes.PermissionDenied, instance.ErrorType);
        Assert.Contains("No rule allows 'tester' (roles: viewer, operator)", instance.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("Rule 'operators-on-h20' {\"name\":\"operators-on-h20\"", instance.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("accelerator type 'NVIDIA L4'", instance.ErrorMessage, StringComparison.Ordinal);
        var step = Assert.Single(await h.GetStepsAsync(instance.Id));
        Assert.False(step.Retryable);
        var journal = await h.GetJournalAsync(instance.Id);
        var details = JsonNode.Parse(journal.Single(j => j.Level == "Error" && j.Event == "StepLog").PropertiesJson!)!;
        Assert.Equal("operators-on-h20", (string)details["rule"]!);
        Assert.Equal("tester", (string)details["requester"]!);
    }

    [Fact]
    public async Task AllowedDeploy_CompletesWithTheRuleAndTheRequester()
    {
        await using var h = await LlmHarness.StartAsync(InlinePolicy);
        h.Requesters.Set("tester", "viewer", "operator");
        await h.SaveSingleStepAsync("check", Type, Inputs("nvidia h20"));

        var instance = await h.RunAsync("check");
        var output = await h.GetOutputAsync(instance.Id, "step");

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.True((bool)output["allowed"]!);
        Assert.Equal("operators-on-h20", (string)output["rule"]!);
        Assert.Equal("tester", (string)output["requester"]!["name"]!);
        Assert.Equal(["viewer", "operator"], output["requester"]!["roles"]!.AsArray().Select(r => (string)r!));
        Assert.Equal("Policies:Deploy", (string)output["policy"]!);
    }

    [Fact]
    public async Task OperatorWithoutTheRole_IsRefused_EvenWithTheSameRequest()
    {
        await using var h = await LlmHarness.StartAsync(InlinePolicy);
        h.Requesters.Set("reader", "viewer");
        await h.SaveSingleStepAsync("check", Type, Inputs());

        var instance = await h.RunAsync("check", @operator: "reader");

        Assert.Equal(LlmErrorTypes.PermissionDenied, instance.ErrorType);
        Assert.Contains("no allow rule of the deploy policy names this key or its roles", instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyFile_IsReadAtEveryCheck_AnEditAppliesToTheNextDeploy()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("mss-policy-").FullName, "deploy-policy.json");
        await File.WriteAllTextAsync(file, """{"rules": [{"name": "tester-any", "keys": ["tester"], "namespaces": ["*"]}]}""");
        await using var h = await LlmHarness.StartAsync(new Dictionary<string, string?> { ["Policies:Deploy:Path"] = file });
        await h.SaveSingleStepAsync("check", Type, Inputs());

        var before = await h.RunAsync("check");
        await File.WriteAllTextAsync(file, """{"rules": [{"name": "tester-cpu", "keys": ["tester"], "maxAcceleratorCount": 0, "namespaces": ["*"]}]}""");
        var after = await h.RunAsync("check");
        await File.WriteAllTextAsync(file, """{"rules": [{"name": "tester-any", "keys": ["tester"], "effect": "perhaps"}]}""");
        var invalid = await h.RunAsync("check");

        Assert.Equal(InstanceStatus.Completed, before.Status);
        Assert.Equal("tester-any", (string)(await h.GetOutputAsync(before.Id, "step"))["rule"]!);
        Assert.Equal(file, (string)(await h.GetOutputAsync(before.Id, "step"))["policy"]!);
        Assert.Equal(LlmErrorTypes.PermissionDenied, after.ErrorType);
        Assert.Contains("1 accelerators per replica exceed its maxAcceleratorCount 0", after.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(LlmErrorTypes.InvalidDeployPolicy, invalid.ErrorType);
        Assert.Contains(file, invalid.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoPolicyConfigured_RefusesNamingTheSetting()
    {
        await using var h = await LlmHarness.StartAsync();
        await h.SaveSingleStepAsync("check", Type, Inputs());

        var instance = await h.RunAsync("check");

        Assert.Equal(LlmErrorTypes.DeployPolicyNotConfigured, instance.ErrorType);
        Assert.Contains("Policies:Deploy:Path", instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelOutsideTheModelRoots_FailsPathOutsideModelRoot()
    {
        await using var h = await LlmHarness.StartAsync(InlinePolicy);
        var inputs = Inputs();
        inputs["modelFile"] = "/etc/passwd";
        await h.SaveSingleStepAsync("check", Type, inputs);

        var instance = await h.RunAsync("check");

        Assert.Equal(LlmErrorTypes.PathOutsideModelRoot, instance.ErrorType);
    }
}
