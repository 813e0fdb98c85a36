using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local.Tests;

public sealed class LocalShimletLogsTests
{
    [Fact]
    public async Task GetLogs_ReturnsStdoutAndStderrTailNewestLast()
    {
        await using var harness = new LocalHarness();
        await harness.Shimlet.ApplyAsync(harness.Spec("tiny-n1", args: ["--port", "{{ port }}", "--host", "{{host}}"]), CancellationToken.None);
        var status = await harness.WaitForStatusAsync("tiny-n1", s => s.Phase == ServicePhase.Running);
        var port = status.Endpoint!.Port;

        var logs = await harness.Shimlet.GetLogsAsync(new ServiceTarget("tiny-n1"), 10, CancellationToken.None);
        var last = await harness.Shimlet.GetLogsAsync(new ServiceTarget("tiny-n1"), 1, CancellationToken.None);

        var started = Assert.Single(logs, l => l.StartsWith("test-server pid=", StringComparison.Ordinal));
        Assert.Contains($"argv-port={port} env-port={port} host=127.0.0.1", started, StringComparison.Ordinal);
        Assert.Contains($"cwd={Path.Combine(harness.ServiceDirectory("tiny-n1"), "work")}", started, StringComparison.Ordinal);
        Assert.Contains("test-server stderr line", logs);
        var listening = logs.ToList().IndexOf($"test-server listening on 127.0.0.1:{port}");
        Assert.True(listening > logs.ToList().IndexOf(started), string.Join('\n', logs));
        Assert.Equal([logs[^1]], last);
    }

    [Fact]
    public void ReplicaLog_OverMaxSize_RotatesAndKeepsTail()
    {
        var directory = Directory.CreateTempSubdirectory("local-shimlet-log").FullName;
        try
        {
            var path = Path.Combine(directory, "replica-0.log");
            var options = new LocalShimletOptions { MaxLogFileBytes = 4096, MaxLogFiles = 2, LogTailLines = 5 };
            long sequence = 0;
            var log = new ReplicaLog(path, options, () => ++sequence);

            for (var round = 0; round < 3; round++)
            {
                File.AppendAllLines(path, Enumerable.Range(0, 100).Select(i => $"round {round} line {i} {new string('x', 40)}"));
                log.Pump();
            }

            File.AppendAllText(path, "partial");
            log.Pump();
            File.AppendAllText(path, " line\n");
            log.Pump();

            Assert.True(File.Exists(path + ".1"));
            Assert.True(File.Exists(path + ".2"));
            Assert.False(File.Exists(path + ".3"));
            Assert.True(new FileInfo(path).Length < 4096);
            var tail = log.Last(5).Select(l => l.Text).ToList();
            Assert.Equal("partial line", tail[^1]);
            Assert.StartsWith("round 2 line 99 ", tail[^2], StringComparison.Ordinal);
            Assert.Equal(5, tail.Count);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("{{ port }}", "4242")]
    [InlineData("{{port}}", "4242")]
    [InlineData("{{ host }}", "127.0.0.1")]
    [InlineData("--port={{ port }}", "--port={{ port }}")]
    [InlineData("{{ modelFile }}", "{{ modelFile }}")]
    public void Substitute_ReplacesOnlyWholeArgumentPlaceholders(string argument, string expected) =>
        Assert.Equal(expected, LaunchPlan.Substitute(argument, 4242));
}
