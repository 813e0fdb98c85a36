using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>The deploy policy's parsing and evaluation, without a pipeline.</summary>
public sealed class DeployPolicyTests
{
    private const string Policy = """
        {
          // Ordered: the first rule that applies to the key and matches the deploy decides.
          "rules": [
            { "name": "no-licensed-for-ci", "effect": "deny", "keys": ["ci-*"], "modelRoots": ["/models/licensed"] },
            { "name": "ml-team-h20", "roles": ["operator"], "modelNames": ["llama-*", "qwen-?"], "acceleratorTypes": ["nvidia h20"],
              "maxAcceleratorCount": 4, "maxTotalAccelerators": 8, "namespaces": ["ml-*"] },
            { "name": "admins", "roles": ["admin"], "namespaces": ["*"] },
            { "name": "ci-cpu", "keys": ["ci-*"], "maxAcceleratorCount": 0, "namespaces": ["*"] }
          ]
        }
        """;

    private static readonly DeployRequester Alice = new("alice", ["viewer", "operator"]);

    private static CompiledDeployPolicy Compile(string json = Policy)
    {
        var errors = CompiledDeployPolicy.TryParse(json, "policy.json", AcceleratorCatalog.Default, out var policy);
        Assert.Empty(errors);
        return policy!;
    }

    private static DeployPolicyRequest Request(string model = "llama-3-8b", string path = "/models/public/llama-3-8b", string? type = "NVIDIA H20", int count = 2, int replicas = 1, string? ns = "ml-prod") =>
        new(model, path, type, count, replicas, ns);

    [Fact]
    public void Evaluate_MatchingAllowRule_AllowsQuotingIt()
    {
        var decision = Compile().Evaluate(Alice, Request());

        Assert.True(decision.Allowed);
        Assert.Equal("ml-team-h20", decision.Rule);
        Assert.Contains("Rule 'ml-team-h20' {\"name\":\"ml-team-h20\"", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_AcceleratorTypeTheKeysRuleDoesNotAllow_RefusesQuotingTheRuleAndTheType()
    {
        var decision = Compile().Evaluate(Alice, Request(type: "NVIDIA A100 80GB"));

        Assert.False(decision.Allowed);
        Assert.Equal("ml-team-h20", decision.Rule);
        Assert.StartsWith("No rule allows 'alice' (roles: viewer, operator) to deploy 'llama-3-8b'", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("Rule 'ml-team-h20' {\"name\":\"ml-team-h20\"", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("it does not allow accelerator type 'NVIDIA A100 80GB' (its acceleratorTypes: NVIDIA H20)", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mistral-7b", "NVIDIA H20", 2, 1, "ml-prod", "the model name 'mistral-7b' matches none of its modelNames (llama-*, qwen-?)")]
    [InlineData("llama-3-8b", "NVIDIA H20", 5, 1, "ml-prod", "5 accelerators per replica exceed its maxAcceleratorCount 4")]
    [InlineData("llama-3-8b", "NVIDIA H20", 4, 3, "ml-prod", "4 × 3 replica(s) = 12 accelerators exceed its maxTotalAccelerators 8")]
    [InlineData("llama-3-8b", "NVIDIA H20", 2, 1, "prod", "the namespace 'prod' matches none of its namespaces (ml-*)")]
    [InlineData("llama-3-8b", "NVIDIA H20", 2, 1, null, "the request names no namespace")]
    public void Evaluate_EachConditionTheRequestMisses_IsNamed(string model, string type, int count, int replicas, string? ns, string expected)
    {
        var decision = Compile().Evaluate(Alice, Request(model, type: type, count: count, replicas: replicas, ns: ns));

        Assert.False(decision.Allowed);
        Assert.Contains(expected, decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_GlobsAreGlobs_QuestionMarkIsOneCharacter()
    {
        var policy = Compile();

        Assert.True(policy.Evaluate(Alice, Request("qwen-7")).Allowed);
        Assert.False(policy.Evaluate(Alice, Request("qwen-72")).Allowed);
    }

    [Fact]
    public void Evaluate_DenyRuleFirst_RefusesEvenWhereALaterRuleWouldAllow()
    {
        var ci = new DeployRequester("ci-nightly", ["viewer", "operator"]);

        var licensed = Compile().Evaluate(ci, Request(path: "/models/licensed/llama-3-70b", count: 0, type: null));
        var open = Compile().Evaluate(ci, Request(path: "/models/public/tiny", count: 0, type: null, ns: null, model: "tiny"));

        Assert.False(licensed.Allowed);
        Assert.Equal("no-licensed-for-ci", licensed.Rule);
        Assert.StartsWith("Rule 'no-licensed-for-ci' {", licensed.Reason, StringComparison.Ordinal);
        Assert.Contains("denies this deploy", licensed.Reason, StringComparison.Ordinal);
        Assert.True(open.Allowed);
        Assert.Equal("ci-cpu", open.Rule);
    }

    [Fact]
    public void Evaluate_ModelRoots_MatchWholeDirectories()
    {
        var ci = new DeployRequester("ci-nightly", []);

        // '/models/licensed-free' is not inside '/models/licensed'.
        var sibling = Compile().Evaluate(ci, Request(path: "/models/licensed-free/x", count: 0, type: null, ns: "default", model: "x"));

        Assert.True(sibling.Allowed);
        Assert.Equal("ci-cpu", sibling.Rule);
    }

    [Fact]
    public void Evaluate_CpuDeploy_SatisfiesAcceleratorTypes_AndNoApplicableRuleSaysSo()
    {
        var cpu = Compile().Evaluate(Alice, Request(type: null, count: 0));
        var stranger = Compile().Evaluate(new DeployRequester("bob", ["viewer"]), Request());

        Assert.True(cpu.Allowed);
        Assert.False(stranger.Allowed);
        Assert.Null(stranger.Rule);
        Assert.Contains("no allow rule of the deploy policy names this key or its roles", stranger.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_AdminByImpliedRole_AllowedAnywhere_NamespaceStarMatchesNone()
    {
        var admin = new DeployRequester("root", ["viewer", "operator", "admin"]);

        var decision = Compile().Evaluate(admin, Request(type: "NVIDIA H100", count: 8, ns: null));

        Assert.True(decision.Allowed);
        Assert.Equal("admins", decision.Rule);
    }

    [Theory]
    [InlineData("""{"rules": [{"name": "a", "keys": ["*"], "acceleratorTyp": ["NVIDIA H20"]}]}""", "acceleratorTyp")]
    [InlineData("""{"rules": [{"name": "a", "keys": ["*"], "acceleratorTypes": ["Voodoo 2"]}]}""", "rules[0].acceleratorTypes[0] 'Voodoo 2' is not in the accelerator catalog")]
    [InlineData("""{"rules": [{"name": "a", "keys": ["*"]}, {"name": "a", "roles": ["admin"]}]}""", "rules[1].name 'a' is used by an earlier rule")]
    [InlineData("""{"rules": [{"name": "a"}]}""", "rules[0] names no keys and no roles")]
    [InlineData("""{"rules": [{"name": "a", "keys": ["*"], "modelRoots": ["models"]}]}""", "rules[0].modelRoots[0] 'models' must be an absolute directory")]
    [InlineData("""{"rules": [{"name": "a", "keys": ["*"], "effect": "maybe"}]}""", "policy.json:")]
    [InlineData("""{"rules": [{"keys": ["*"]}]}""", "rules[0].name is required")]
    public void TryParse_InvalidPolicy_NamesThePlace(string json, string expected)
    {
        var errors = CompiledDeployPolicy.TryParse(json, "policy.json", AcceleratorCatalog.Default, out var policy);

        Assert.Null(policy);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Options_InlineRulesFromConfiguration_BindAndEvaluate_PathAndRulesTogetherFailAtStart()
    {
        using var inline = Build(new()
        {
            ["Policies:Deploy:Rules:0:Name"] = "ops",
            ["Policies:Deploy:Rules:0:Roles:0"] = "operator",
            ["Policies:Deploy:Rules:0:AcceleratorTypes:0"] = "NVIDIA L4",
        });
        using var both = Build(new()
        {
            ["Policies:Deploy:Path"] = "/etc/policy.json",
            ["Policies:Deploy:Rules:0:Name"] = "ops",
            ["Policies:Deploy:Rules:0:Roles:0"] = "operator",
        });

        inline.GetRequiredService<IStartupValidator>().Validate();
        var rules = inline.GetRequiredService<IOptions<DeployPolicyOptions>>().Value.Rules;
        Assert.Empty(CompiledDeployPolicy.TryCompile(new DeployPolicy { Rules = rules }, "inline", AcceleratorCatalog.Default, out var policy));
        Assert.True(policy!.Evaluate(Alice, Request(type: "NVIDIA L4", ns: null)).Allowed);
        var error = Assert.Throws<OptionsValidationException>(() => both.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("set Path (a policy file) or Rules (inline), not both", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return new ServiceCollection().AddLogging().AddLlmPipelineActivities(configuration).BuildServiceProvider();
    }
}
