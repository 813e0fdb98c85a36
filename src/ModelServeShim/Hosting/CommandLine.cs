using System.Globalization;
using System.Reflection;
using ModelServeShim.Models.Gguf;
using ModelServeShim.Models.SampleModels;
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
        ["--database"] = "State:Provider",
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

    /// <summary>Runs <c>--version</c>, <c>--help</c>, <c>keys hash</c> and <c>models make-sample</c>; null when the server should start.</summary>
    public static async Task<int?> TryRunCommandAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Contains("--version"))
        {
            await output.WriteLineAsync(VersionLine);
            return 0;
        }

        if (args.Contains("--help") || args.Contains("-h"))
        {
            await output.WriteLineAsync(Help);
            return 0;
        }

        switch (args)
        {
            case ["keys", "hash", var key]:
                await output.WriteLineAsync(ApiKeyHasher.Hash(key));
                return 0;
            case ["keys", ..]:
                await error.WriteLineAsync("usage: model-serve-shim keys hash <api-key>   prints the hash to put in Auth:ApiKeys:<n>:KeyHash");
                return 2;
            case ["models", "make-sample", var directory, .. var rest]:
                return await MakeSampleAsync(directory, rest, output, error);
            case ["models", ..]:
                await error.WriteLineAsync("usage: model-serve-shim models make-sample <dir> [--f16] [--seed=N]   writes a tiny random-weight llama GGUF");
                return 2;
            default:
                return null;
        }
    }

    private static async Task<int> MakeSampleAsync(string directory, string[] options, TextWriter output, TextWriter error)
    {
        var sample = new SampleModelOptions();
        foreach (var option in options)
        {
            if (option == "--f16")
            {
                sample = sample with { WeightType = GgmlType.F16 };
            }
            else if (option.StartsWith("--seed=", StringComparison.Ordinal) && ulong.TryParse(option["--seed=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
            {
                sample = sample with { Seed = seed };
            }
            else
            {
                await error.WriteLineAsync($"models make-sample: unknown option '{option}': use --f16 or --seed=N.");
                return 2;
            }
        }

        try
        {
            var path = await SampleModelGenerator.WriteToDirectoryAsync(directory, sample);
            await output.WriteLineAsync($"{path} ({new FileInfo(path).Length} bytes, llama architecture, {sample.WeightType}, seed {sample.Seed})");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"models make-sample: cannot write to '{directory}': {e.Message}");
            return 1;
        }
    }

    private const string Help = """
        model-serve-shim: deploys open-source LLMs through durable pipelines.

        usage: model-serve-shim [flags]                         starts the server
               model-serve-shim --version                       prints the version and commit
               model-serve-shim --help                          prints this
               model-serve-shim keys hash <api-key>             prints the hash to put in Auth:ApiKeys:<n>:KeyHash
               model-serve-shim models make-sample <dir> [--f16] [--seed=N]
                                                                writes a tiny random-weight llama GGUF

        flags:
          --port=8080                  HTTP port (ModelServeShim:Port)
          --listen=localhost           localhost, an IP, or * (requires API keys) (ModelServeShim:ListenAddress)
          --shimlet=local              default shimlet for deployments: local, k8s (ModelServeShim:Shimlet)
          --pipeline=opensourcellm     default pipeline: opensourcellm, quant-llm, privatellm, or one of --workflows-dir (ModelServeShim:Pipeline)
          --data-dir=./data            state: the SQLite file and plugins (ModelServeShim:DataDir)
          --database=sqlite            where the state lives: sqlite (a file in --data-dir) or postgres (State:Provider);
                                       postgres needs State:ConnectionString (no password in it) and the password in
                                       State__Password (environment) or State:PasswordFile. See docs/state.md.
          --workflows-dir=./workflows  more pipelines; a file named like a built-in one replaces it (Workflows:Directory)

        Every flag is also a setting. Later wins: the built-in defaults, appsettings.json next to the binary,
        appsettings.json in the working directory, environment variables (ModelServeShim__Port=8080), flags.
        A bad setting, a default pipeline or shimlet that does not exist, or a port in use stops the start with exit code 2.
        See README.md.
        """;
}
