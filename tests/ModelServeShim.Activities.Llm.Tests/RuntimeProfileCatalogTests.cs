using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ModelServeShim.Activities.Llm.Tests;

public sealed partial class RuntimeProfileCatalogTests
{
    public static TheoryData<string> ContainerProfiles() => [.. RuntimeProfileCatalog.BuiltIn.Where(p => !p.HostPaths).Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(ContainerProfiles))]
    public void BuiltInContainerProfile_ImagesArePinnedToAReleaseTagOrDigest(string name)
    {
        var profile = RuntimeProfileCatalog.BuiltIn.Single(p => p.Name == name);

        foreach (var image in new[] { profile.Image, profile.AcceleratorImage })
        {
            Assert.True(IsPinned(image), $"{name}: '{image}' is not pinned: give it a release tag (with a version number, not 'latest' or a rolling tag) or a digest.");
        }
    }

    [Theory]
    [InlineData("vllm/vllm-openai", false)]
    [InlineData("vllm/vllm-openai:latest", false)]
    [InlineData("ghcr.io/ggml-org/llama.cpp:server-cuda", false)]
    [InlineData("registry.local:5000/vllm-openai", false)]
    [InlineData("vllm/vllm-openai:v0.11.0", true)]
    [InlineData("registry.local:5000/llama.cpp:server-b6700", true)]
    [InlineData("lmsysorg/sglang@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    public void IsPinned_TellsReleaseTagsAndDigestsFromMovingReferences(string image, bool pinned) => Assert.Equal(pinned, IsPinned(image));

    [Fact]
    public void ConfiguredImage_ReplacesTheBuiltInPin()
    {
        var options = new RuntimeOptions();
        options.Profiles["vllm"] = new RuntimeProfileOptions { Image = "vllm/vllm-openai:v0.11.1" };

        var catalog = new RuntimeProfileCatalog(Options.Create(options));

        Assert.True(catalog.TryGet("vllm", out var vllm));
        Assert.Equal(("vllm/vllm-openai:v0.11.1", "vllm/vllm-openai:v0.11.1"), (vllm.Image, vllm.AcceleratorImage));
    }

    /// <summary>A digest, or a tag that names a release: not <c>latest</c>, and with a version number in it.</summary>
    private static bool IsPinned(string image)
    {
        if (Digest().IsMatch(image))
        {
            return true;
        }

        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.LastIndexOf(':');
        if (colon < 0)
        {
            return false;
        }

        var tag = lastSegment[(colon + 1)..];
        return tag != "latest" && tag.Any(char.IsAsciiDigit);
    }

    [GeneratedRegex("@sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Digest();
}
