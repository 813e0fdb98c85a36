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
