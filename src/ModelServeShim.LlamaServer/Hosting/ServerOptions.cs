namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>What the server was started with (see <see cref="ServerCommandLine"/> for the flags and defaults).</summary>
public sealed record ServerOptions
{
    /// <summary>Default served context when <c>--ctx-size</c> is not given (capped by the model's trained context).</summary>
    public const int DefaultContextSize = 2048;

    /// <summary>The GGUF file (<c>--model</c>, required).</summary>
    public required string ModelPath { get; init; }

    /// <summary>TCP port (<c>--port</c>, else <c>PORT</c>, else 8080); 0 picks a free port and logs it.</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Address to bind (<c>--host</c>, else <c>HOST</c>, else 127.0.0.1): an IP address or <c>localhost</c>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The served model id (<c>--alias</c>, else the file name without its extension).</summary>
    public required string Alias { get; init; }

    /// <summary>Tokens per sequence (<c>--ctx-size</c>); null means min(2048, the model's trained context).</summary>
    public int? ContextSize { get; init; }

    /// <summary>CPU threads per sequence for generation and prompt processing (<c>--threads</c>, default 1).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Sequences generated at once (<c>--parallel</c>, default 1); further requests wait for a free one.</summary>
    public int Parallel { get; init; } = 1;
}

/// <summary>The <c>bench</c> command: greedy completions of <see cref="Tokens"/> tokens, <see cref="Runs"/> times.</summary>
public sealed record BenchmarkOptions(ServerOptions Server, int Tokens, int Runs);
