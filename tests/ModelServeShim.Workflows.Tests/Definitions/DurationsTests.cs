using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Workflows.Tests.Definitions;

public class DurationsTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("PT1M", 60_000)]
    [InlineData("00:00:05", 5_000)]
    public void TryParse_AcceptedForms_ParseToMilliseconds(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(ms, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("five")]
    [InlineData("5")]
    [InlineData("-5s")]
    [InlineData("5 s")]
    [InlineData("s")]
    [InlineData("P-1D")]
    public void TryParse_Malformed_IsRejected(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData(500, "500ms")]
    [InlineData(90_000, "1m30s")]
    [InlineData(3_600_000, "1h")]
    public void Format_RoundTrips(double ms, string expected)
    {
        var formatted = Durations.Format(TimeSpan.FromMilliseconds(ms));

        Assert.Equal(expected, formatted);
        Assert.True(Durations.TryParse(formatted, out var back));
        Assert.Equal(ms, back.TotalMilliseconds);
    }
}
