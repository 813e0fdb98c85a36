using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.IntegrationTests.ControlPlane;

/// <summary>The in-process event log (SQLite) and a broadcaster subscriber that falls behind.</summary>
public sealed class EventLogTests(ShimFactory factory) : IClassFixture<ShimFactory>
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Numbers_StartAtTheStartTimeInMicroseconds_AndResumeWithinWhatIsKept()
    {
        var log = new MemoryEventLog(capacity: 100, new FixedTime(Start));
        var delivered = new List<ServerEvent>();
        log.Connect(delivered.Add);
        var first = Start.ToUnixTimeMilliseconds() * 1000;

        for (var i = 0; i < 5; i++)
        {
            log.Append("definition", $"{{\"n\":{i}}}");
        }

        Assert.Equal([first + 1, first + 2, first + 3, first + 4, first + 5], delivered.Select(e => e.Sequence));
        var backlog = await log.ReadAfterAsync(first + 2, 100, default);
        Assert.Null(backlog.Reset);
        Assert.Equal(delivered.Skip(2), backlog.Events);
        Assert.Equal([first + 3], (await log.ReadAfterAsync(first + 2, 1, default)).Events.Select(e => e.Sequence));
        Assert.Empty((await log.ReadAfterAsync(first + 5, 100, default)).Events);
        Assert.Null((await log.ReadAfterAsync(first, 100, default)).Reset); // everything this process published is kept
    }

    [Theory]
    [InlineData(-1_000_000L)] // a sequence of a process before a restart
    [InlineData(1L)] // evicted: older than the oldest kept
    [InlineData(1_000_000L)] // never published here
    public async Task Resume_FromASequenceThatIsNotKept_IsAReset(long offset)
    {
        var log = new MemoryEventLog(capacity: 100, new FixedTime(Start));
        var first = Start.ToUnixTimeMilliseconds() * 1000;
        for (var i = 0; i < 150; i++)
        {
            log.Append("step", "{}");
        }

        var backlog = await log.ReadAfterAsync(first + offset, 100, default);

        Assert.Equal(first + 150, backlog.Reset);
        Assert.Empty(backlog.Events);
        Assert.Null((await log.ReadAfterAsync(first + 50, 100, default)).Reset); // the oldest kept is 51
    }

    [Fact]
    public async Task ASubscriberThatFallsBehind_IsMarkedLagged_AndTheLogHasWhatItMissed()
    {
        var log = new MemoryEventLog(capacity: 5000, new FixedTime(Start));
        var broadcaster = new EventBroadcaster(
            factory.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>(),
            factory.Services.GetRequiredService<DefinitionStore>(), log, NullLogger<EventBroadcaster>.Instance);
        using var subscription = broadcaster.Subscribe();
        var queued = new List<ServerEvent>();

        for (var i = 0; i < EventBroadcaster.SubscriberCapacity + 10; i++)
        {
            log.Append("step", "{}");
        }

        Assert.True(subscription.Lagged());
        Assert.False(subscription.Lagged()); // the mark is cleared by reading it
        while (subscription.Reader.TryRead(out var e))
        {
            queued.Add(e);
        }

        Assert.Equal(EventBroadcaster.SubscriberCapacity, queued.Count);
        var rest = await broadcaster.ReadAfterAsync(queued[^1].Sequence, 100, default);
        Assert.Equal(10, rest.Events.Count);
        Assert.Equal(queued[^1].Sequence + 1, rest.Events[0].Sequence);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
