using ModelServeShim.LlamaServer.Inference;

namespace ModelServeShim.LlamaServer.Tests;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void Push_StopSplitAcrossPieces_HoldsThePrefixBackThenCutsBeforeTheStop()
    {
        var matcher = new StopSequenceMatcher(["</end>"]);

        Assert.Equal("Hello ", matcher.Push("Hello </"));
        Assert.Equal("", matcher.Push("en"));
        Assert.Equal("", matcher.Push("d> and more"));
        Assert.True(matcher.Stopped);
        Assert.Equal("", matcher.Push("ignored"));
    }

    [Fact]
    public void Push_HeldPrefixThatDoesNotBecomeTheStop_IsReleased()
    {
        var matcher = new StopSequenceMatcher(["</end>"]);

        Assert.Equal("a", matcher.Push("a</e"));
        Assert.Equal("</ex", matcher.Push("x"));
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void Push_SeveralStops_CutsAtTheEarliest()
    {
        var matcher = new StopSequenceMatcher(["world", "lo"]);

        Assert.Equal("hel", matcher.Push("hello world"));
        Assert.True(matcher.Stopped);
    }

    [Fact]
    public void Flush_WhenGenerationEndsOtherwise_ReturnsTheHeldText()
    {
        var matcher = new StopSequenceMatcher(["\n\n"]);

        Assert.Equal("line", matcher.Push("line\n"));
        Assert.Equal("\n", matcher.Flush());
    }

    [Fact]
    public void Push_NoStops_PassesEverythingThrough()
    {
        var matcher = new StopSequenceMatcher([]);

        Assert.Equal("abc", matcher.Push("abc"));
        Assert.Equal("", matcher.Flush());
    }
}
