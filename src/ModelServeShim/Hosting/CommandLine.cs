using System.Reflection;
using ModelServeShim.Security;

namespace ModelServeShim.Hosting;

/// <summary>The command line: flags that map onto configuration, and a few one-shot commands.</summary>
public static class CommandLine
{
    /// <summary>Flags and the configuration keys they set.</summary>
    public static readonly IDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--port"] = "ModelServeShim:Port",
        ["--shimlet"] = "ModelServeShim:Shimlet",
        ["--pipeline"] = "ModelServeShim:Pipeline",
        ["--data-dir"] = "ModelServeShim:DataDir",
        ["--listen"] = "ModelServeShim:ListenAddress",
        ["--workflows-dir"] = "Workflows:Directory",
    };

    /// <summary>The version line, e.g. <c>ModelServeShim v0.1.0 (commit: abc1234)</c>.</summary>
    public static string VersionLine
    {
        get
        {
            var info = typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = info.IndexOf('+', StringComparison.Ordinal);
            var version = plus >= 0 ? info[..plus] : info;
            var commit = plus >= 0 ? info[(plus + 1)..] : "unknown";
            return $"ModelServeShim v{version} (commit: {(commit.Length > 7 ? commit[..7] : commit)})";
        }
    }

    /// <summary>Runs <c>--version</c>, <c>--help</c> and <c>keys hash</c>; false when the server should start.</summary>
    public static bool TryRunCommand(string[] args, TextWriter output, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        exitCode = 0;
        if (args.Contains("--version"))
        {
            output.WriteLine(VersionLine);
            return true;
        }

        if (args.Contains("--help") || args.Contains("-h"))
        {
            output.WriteLine(Help);
            return true;
        }

        if (args is ["keys", "hash", var key])
        {
            output.WriteLine(ApiKeyHasher.Hash(key));
            return true;
        }

        if (args is ["keys", ..])
        {
            output.WriteLine("usage: model-serve-shim keys hash <api-key>   prints the hash to put in Auth:ApiKeys:<n>:KeyHash");
            exitCode = 2;
            return true;
        }

        return false;
    }

    private const string Help = """
        model-serve-shim: deploys open-source LLMs through durable pipelines.

        usage: model-serve-shim [--port=8080] [--shimlet=local] [--pipeline=opensourcellm]
                                [--data-dir=./data] [--listen=localhost] [--workflows-dir=./workflows]
               model-serve-shim --version
               model-serve-shim keys hash <api-key>

        Every flag is also a setting in appsettings.json (section ModelServeShim) and an environment
        variable (ModelServeShim__Port=8080). See README.md.
        """;
}
