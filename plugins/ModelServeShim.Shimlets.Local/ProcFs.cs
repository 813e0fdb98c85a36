using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelServeShim.Shimlets.Local;

/// <summary>What <c>/proc/&lt;pid&gt;/stat</c> says about a process.</summary>
/// <param name="State">The state letter (<c>R</c>, <c>S</c>, <c>Z</c>, …).</param>
/// <param name="StartTime">Field 22: clock ticks after boot at which the process started; with the pid, it identifies the process.</param>
internal readonly record struct ProcStat(char State, ulong StartTime)
{
    /// <summary>Whether the process has ended (a zombie waiting to be reaped counts as ended).</summary>
    public bool IsDead => State is 'Z' or 'X' or 'x';
}

/// <summary>Reads process identity from procfs and sends signals through libc.</summary>
internal static partial class ProcFs
{
    private const int Sigterm = 15;

    /// <summary>The process's state and start time, or null when it does not exist.</summary>
    public static ProcStat? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid …": comm may hold spaces and parentheses, so parse after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        return fields.Length > 19 && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? new ProcStat(fields[0][0], start)
            : null;
    }

    /// <summary>
    /// CPU time (user + system, from <c>/proc/&lt;pid&gt;/stat</c> fields 14 and 15, in USER_HZ ticks, which Linux fixes at
    /// 100 per second for user space) and resident memory (<c>/proc/&lt;pid&gt;/statm</c> field 2 × the page size), or null
    /// when the process does not exist.
    /// </summary>
    public static (double CpuSeconds, long ResidentBytes)? ReadUsage(int pid)
    {
        const double TicksPerSecond = 100;
        string stat, statm;
        var id = pid.ToString(CultureInfo.InvariantCulture);
        try
        {
            stat = File.ReadAllText($"/proc/{id}/stat");
            statm = File.ReadAllText($"/proc/{id}/statm");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var close = stat.LastIndexOf(')');
        var fields = close < 0 || close + 2 >= stat.Length ? [] : stat[(close + 2)..].Split(' ');
        var pages = statm.Split(' ');
        if (fields.Length <= 12 || pages.Length < 2
            || !ulong.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !ulong.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system)
            || !long.TryParse(pages[1], NumberStyles.None, CultureInfo.InvariantCulture, out var resident))
        {
            return null;
        }

        return ((user + system) / TicksPerSecond, resident * Environment.SystemPageSize);
    }

    /// <summary>The process's argv, or null when it does not exist.</summary>
    public static IReadOnlyList<string>? ReadCmdline(int pid)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes);
        if (text.EndsWith('\0'))
        {
            text = text[..^1];
        }

        return text.Length == 0 ? [] : text.Split('\0');
    }

    /// <summary>This boot's id; a record from another boot never matches a live process.</summary>
    public static string? BootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sends SIGTERM (Process.Kill only sends SIGKILL). False when the process is gone.</summary>
    public static bool SendSigterm(int pid) => Kill(pid, Sigterm) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
