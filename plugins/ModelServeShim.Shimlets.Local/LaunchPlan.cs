using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelServeShim.Shimlets.Local;

/// <summary>How every replica of one spec is started; replicas differ only in index and port.</summary>
/// <param name="Executable">The resolved absolute path of the spec's program.</param>
/// <param name="Args">The rest of <c>Command</c>, then <c>Args</c>, with placeholders not yet substituted.</param>
/// <param name="Environment">The spec's environment.</param>
/// <param name="WorkingDirectory">The service's working directory.</param>
/// <param name="LogDirectory">Where replica log files live.</param>
/// <param name="ShellPath">The shell used as exec trampoline.</param>
internal sealed partial record LaunchPlan(
    string Executable,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    string LogDirectory,
    string ShellPath)
{
    /// <summary>The address every replica is told to bind.</summary>
    public const string Host = "127.0.0.1";

    /// <summary>
    /// A fixed script: the log path and the argv arrive as positional parameters, never as script text. The shell
    /// opens the log for appending and <c>exec</c>s the runtime, so the pid is the runtime's and its output reaches the
    /// file even when this orchestrator is gone (.NET 10 cannot hand a file descriptor to a child process).
    /// </summary>
    internal const string Trampoline = "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null";

    /// <summary>The runtime's argv for a replica listening on <paramref name="port"/>.</summary>
    public IReadOnlyList<string> Argv(int port) => [Executable, .. Args.Select(a => Substitute(a, port))];

    /// <summary>The log file of a replica.</summary>
    public string LogPath(int index) => Path.Combine(LogDirectory, $"replica-{index.ToString(CultureInfo.InvariantCulture)}.log");

    /// <summary>
    /// The start info for a replica: the trampoline shell with an argument list, the spec's environment plus
    /// <c>PORT</c> and <c>HOST</c>, and the service's working directory.
    /// </summary>
    public ProcessStartInfo StartInfo(int index, int port)
    {
        var startInfo = new ProcessStartInfo(ShellPath)
        {
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(Trampoline);
        startInfo.ArgumentList.Add("model-serve-shim-local");
        startInfo.ArgumentList.Add(LogPath(index));
        foreach (var argument in Argv(port))
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in Environment)
        {
            startInfo.Environment[key] = value;
        }

        startInfo.Environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
        startInfo.Environment["HOST"] = Host;
        return startInfo;
    }

    /// <summary>
    /// Replaces an argument that is exactly <c>{{ port }}</c> or <c>{{ host }}</c> (spaces optional), the same
    /// whole-argument rule the runtime profiles follow; anything else is passed unchanged.
    /// </summary>
    internal static string Substitute(string argument, int port)
    {
        var match = Placeholder().Match(argument);
        if (!match.Success)
        {
            return argument;
        }

        return match.Groups[1].Value == "port" ? port.ToString(CultureInfo.InvariantCulture) : Host;
    }

    [GeneratedRegex(@"^\{\{\s*(port|host)\s*\}\}$", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
