using System.Security.Claims;
using ModelServeShim.Security;

namespace ModelServeShim.IntegrationTests.Security;

public sealed class ModelAccessTests
{
    [Theory]
    [InlineData("*", "meta-llama/Llama-3-8B", true)]
    [InlineData("meta-llama/*", "meta-llama/Llama-3-8B", true)]
    [InlineData("meta-llama/*", "mistral/Mistral-7B", false)]
    [InlineData("qwen?-7b", "qwen2-7b", true)]
    [InlineData("qwen?-7b", "qwen25-7b", false)]
    [InlineData("Qwen*", "qwen2", false)]
    [InlineData("tiny", "tiny", true)]
    [InlineData("tiny", "tiny-2", false)]
    [InlineData("*-gguf", "tiny-gguf", true)]
    [InlineData("", "tiny", false)]
    public void GlobMatches_StarAndQuestionMark_CaseSensitive(string glob, string model, bool expected) =>
        Assert.Equal(expected, ModelAccess.GlobMatches(glob, model));

    [Fact]
    public void Allows_KeyWithoutModelClaims_MayUseEveryModel() =>
        Assert.True(ModelAccess.Allows(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "ops")], "key")), "any/model"));

    [Fact]
    public void Allows_KeyWithModelClaims_OnlyThoseModels()
    {
        var user = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ModelAccess.ClaimType, "team-a/*"), new Claim(ModelAccess.ClaimType, "shared-?")], "key"));
        Assert.True(ModelAccess.Allows(user, "team-a/llama"));
        Assert.True(ModelAccess.Allows(user, "shared-1"));
        Assert.False(ModelAccess.Allows(user, "team-b/llama"));
        Assert.False(ModelAccess.Allows(user, "shared-12"));
    }
}
