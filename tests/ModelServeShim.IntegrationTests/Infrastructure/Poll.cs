using System.Diagnostics;

namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary>Bounded polling: checks a condition every <c>interval</c> until it holds or the deadline passes.</summary>
public static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="probe"/> until it returns a non-null value; fails with <paramref name="describe"/> on timeout.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, string waitingFor, TimeSpan? timeout = null, Func<string>? describe = null)
        where T : class
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (deadline.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0}s waiting for {waitingFor}.{(describe is null ? "" : " " + describe())}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }
}
