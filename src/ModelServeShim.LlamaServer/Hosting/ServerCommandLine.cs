using System.Globalization;
using System.Net;

namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>A bad flag or value; <see cref="Exception.Message"/> is one line that names it.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>What to do: serve, benchmark, quantize, or print the help.</summary>
public sealed record Launch(ServerOptions? Serve = null, BenchmarkOptions? Benchmark = null, bool Help = false, QuantizeOptions? Quantize = null);

/// <summary>
/// Parses <c>model-serve-shim-llama [bench] --model &lt;gguf&gt; [--flag value | --flag=value]…</c>.
/// <c>PORT</c> and <c>HOST</c> environment variables are defaults that flags override.
/// </summary>
public static class ServerCommandLine
{
    /// <summary>Exit code for bad arguments.</summary>
    public const int UsageExitCode = 2;

    public const string Help = """
        model-serve-shim-llama: an OpenAI-compatible server for one GGUF model (llama.cpp on CPU, via LLamaSharp).

        usage: model-serve-shim-llama --model <file.gguf> [--port 8080] [--host 127.0.0.1] [--alias <id>]
                                      [--ctx-size <n>] [--threads 1] [--parallel 1] [-ngl 0]
               model-serve-shim-llama bench --model <file.gguf> [--tokens 64] [--runs 5] [--threads 1] [--ctx-size <n>]
               model-serve-shim-llama quantize --input <file.gguf> --output <file.gguf> --type <Q8_0|Q4_K_M|…> [--threads 0]

        PORT and HOST environment variables set the defaults for --port and --host.
        Endpoints: GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions.
        See docs/runtime/llama-server.md.
        """;

    // -ngl/--n-gpu-layers (0 only) lets llama-server's argument list from the llama-cpp runtime profile run unchanged.
    private static readonly HashSet<string> ServeFlags = ["--model", "--port", "--host", "--alias", "--ctx-size", "--threads", "--parallel", "--n-gpu-layers", "-ngl"];
    private static readonly HashSet<string> BenchFlags = ["--model", "--ctx-size", "--threads", "--tokens", "--runs"];
    private static readonly HashSet<string> QuantizeFlags = ["--input", "--output", "--type", "--threads"];

    public static Launch Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        if (args.Any(a => a is "--help" or "-h"))
        {
            return new Launch(Help: true);
        }

        if (args.Count > 0 && args[0] == "quantize")
        {
            return new Launch(Quantize: ParseQuantize(ReadFlags([.. args.Skip(1)], QuantizeFlags)));
        }

        bool bench = args.Count > 0 && args[0] == "bench";
        var values = ReadFlags(bench ? args.Skip(1).ToList() : args, bench ? BenchFlags : ServeFlags);

        if (!values.TryGetValue("--model", out var model) || model.Length == 0)
        {
            throw new UsageException("--model <file.gguf> is required.");
        }

        if (!File.Exists(model))
        {
            throw new UsageException($"--model: no such file '{model}'.");
        }

        foreach (string gpuFlag in (string[])["--n-gpu-layers", "-ngl"])
        {
            if (values.TryGetValue(gpuFlag, out var layers) && layers != "0")
            {
                throw new UsageException($"{gpuFlag}: this server runs on the CPU only, so the value must be 0 (got '{layers}').");
            }
        }

        var server = new ServerOptions
        {
            ModelPath = Path.GetFullPath(model),
            Port = values.TryGetValue("--port", out var port) ? Int("--port", port, 0, 0, 65535) : Int("PORT", Env("PORT"), 8080, 0, 65535),
            Host = values.TryGetValue("--host", out var host) ? Host("--host", host) : Host("HOST", Env("HOST") ?? "127.0.0.1"),
            Alias = Alias(values.GetValueOrDefault("--alias"), model),
            ContextSize = values.TryGetValue("--ctx-size", out var ctx) ? Int("--ctx-size", ctx, 0, 16, 1 << 20) : null,
            Threads = Int("--threads", values.GetValueOrDefault("--threads"), 1, 1, 1024),
            Parallel = Int("--parallel", values.GetValueOrDefault("--parallel"), 1, 1, 64),
        };

        return bench
            ? new Launch(Benchmark: new BenchmarkOptions(
                server,
                Int("--tokens", values.GetValueOrDefault("--tokens"), 64, 1, 1 << 16),
                Int("--runs", values.GetValueOrDefault("--runs"), 5, 1, 1000)))
            : new Launch(Serve: server);

        string? Env(string name) => environment(name) is { Length: > 0 } value ? value : null;
    }

    private static QuantizeOptions ParseQuantize(Dictionary<string, string> values)
    {
        if (!values.TryGetValue("--input", out var input) || input.Length == 0)
        {
            throw new UsageException("quantize: --input <file.gguf> is required.");
        }

        if (!File.Exists(input))
        {
            throw new UsageException($"quantize: --input: no such file '{input}'.");
        }

        if (!values.TryGetValue("--output", out var output) || output.Length == 0)
        {
            throw new UsageException("quantize: --output <file.gguf> is required.");
        }

        if (Path.GetFullPath(output) == Path.GetFullPath(input))
        {
            throw new UsageException("quantize: --output must differ from --input.");
        }

        if (!values.TryGetValue("--type", out var type) || !Quantizer.Types.ContainsKey(type))
        {
            throw new UsageException($"quantize: --type must be one of {string.Join(", ", Quantizer.Types.Keys)} (got '{type}').");
        }

        return new QuantizeOptions(Path.GetFullPath(input), Path.GetFullPath(output), type.ToUpperInvariant(),
            Int("--threads", values.GetValueOrDefault("--threads"), 0, 0, 1024));
    }

    private static Dictionary<string, string> ReadFlags(IReadOnlyList<string> args, HashSet<string> known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            string flag = equals > 0 ? arg[..equals] : arg;
            if (!flag.StartsWith('-'))
            {
                throw new UsageException($"unexpected argument '{arg}' (see --help).");
            }

            if (!known.Contains(flag))
            {
                throw new UsageException($"{flag}: unknown flag (see --help).");
            }

            if (equals > 0)
            {
                values[flag] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) && !known.Contains(args[i + 1]))
            {
                values[flag] = args[++i];
            }
            else
            {
                throw new UsageException($"{flag}: missing value.");
            }
        }

        return values;
    }

    private static int Int(string flag, string? text, int fallback, int min, int max)
    {
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new UsageException($"{flag}: must be an integer from {min} to {max} (got '{text}').");
    }

    private static string Host(string source, string host) =>
        host == "localhost" || IPAddress.TryParse(host, out _)
            ? host
            : throw new UsageException($"{source}: must be an IP address or 'localhost' (got '{host}').");

    private static string Alias(string? alias, string model) => alias switch
    {
        null => Path.GetFileNameWithoutExtension(model),
        { Length: > 0 } when !alias.Any(char.IsWhiteSpace) => alias,
        _ => throw new UsageException($"--alias: must be a non-empty name without spaces (got '{alias}')."),
    };
}
