using System.Diagnostics;
using System.Globalization;
using ModelServeShim.Models.Integrity;

namespace ModelServeShim.Bench.Checksum;

/// <summary>
/// Verifies the files a sha256sum-format manifest lists with the checksum-verification step's code
/// (<see cref="ChecksumVerifier"/>, no cache) and prints bytes, seconds and MB/s; bench/checksum.sh compares it with
/// <c>sha256sum</c> on the same files.
/// </summary>
internal static class ChecksumBench
{
    /// <summary>Runs one verification; false when a file does not match (the numbers would be meaningless).</summary>
    public static async Task<bool> RunAsync(string manifest, int parallelism, TextWriter output)
    {
        var options = new ChecksumVerifierOptions { MaxParallelism = parallelism };
        var stopwatch = Stopwatch.StartNew();
        var report = await ChecksumVerifier.VerifyAsync(manifest, null, options);
        stopwatch.Stop();
        double seconds = stopwatch.Elapsed.TotalSeconds;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"files={report.Results.Count} parallelism={parallelism} bytes={report.HashedBytes} seconds={seconds:F3} mbps={report.HashedBytes / 1e6 / seconds:F1} match={report.AllMatch}"));
        return report.AllMatch;
    }
}
