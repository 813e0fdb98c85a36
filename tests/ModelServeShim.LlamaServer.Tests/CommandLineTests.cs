using ModelServeShim.LlamaServer.Hosting;

namespace ModelServeShim.LlamaServer.Tests;

public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _model;

    public CommandLineTests()
    {
        _model = Path.Combine(_directory.Path, "my-model.Q4_K_M.gguf");
        File.WriteAllBytes(_model, [0x47, 0x47, 0x55, 0x46]);
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Parse_OnlyModel_UsesTheDocumentedDefaults()
    {
        var options = Parse("--model", _model).Serve!;

        Assert.Equal(_model, options.ModelPath);
        Assert.Equal(8080, options.Port);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal("my-model.Q4_K_M", options.Alias);
        Assert.Null(options.ContextSize);
        Assert.Equal(1, options.Threads);
        Assert.Equal(1, options.Parallel);
    }

    [Fact]
    public void Parse_Quantize_ReadsInputOutputTypeAndThreads()
    {
        var options = Parse("quantize", "--input", _model, "--output=out.gguf", "--type", "q4_k_m", "--threads", "2").Quantize!;

        Assert.Equal(new QuantizeOptions(_model, Path.GetFullPath("out.gguf"), "Q4_K_M", 2), options);
    }

    [Theory]
    [InlineData("--type", "Q9_X", "--type must be one of")]
    [InlineData("--type", "Q8_0", "--output <file.gguf> is required", false)]
    public void Parse_QuantizeWithBadArguments_NamesTheProblem(string flag, string value, string message, bool withOutput = true)
    {
        string[] args = withOutput ? ["quantize", "--input", _model, "--output", "o.gguf", flag, value] : ["quantize", "--input", _model, flag, value];

        var error = Assert.Throws<UsageException>(() => Parse(args));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EveryFlag_InBothForms()
    {
        var options = Parse($"--model={_model}", "--port", "9001", "--host=0.0.0.0", "--alias", "tiny", "--ctx-size=512", "--threads", "2", "--parallel=3").Serve!;

        Assert.Equal(new ServerOptions { ModelPath = _model, Port = 9001, Host = "0.0.0.0", Alias = "tiny", ContextSize = 512, Threads = 2, Parallel = 3 }, options);
    }

    [Fact]
    public void Parse_TheLlamaCppRuntimeProfileArguments_AreAcceptedOnCpu()
    {
        // The built-in llama-cpp profile's Args, with its placeholders filled in for a CPU-only replica.
        var options = Parse("--model", _model, "--host", "0.0.0.0", "--port", "8081", "--ctx-size", "4096", "--alias", "served", "-ngl", "0").Serve!;

        Assert.Equal((8081, "0.0.0.0", 4096, "served"), (options.Port, options.Host, options.ContextSize!.Value, options.Alias));
    }

    [Fact]
    public void Parse_PortAndHostEnvironment_AreDefaultsThatFlagsOverride()
    {
        var environment = new Dictionary<string, string?> { ["PORT"] = "7000", ["HOST"] = "::1" };

        var fromEnvironment = ServerCommandLine.Parse(["--model", _model], environment.GetValueOrDefault).Serve!;
        var fromFlags = ServerCommandLine.Parse(["--model", _model, "--port", "7001", "--host", "localhost"], environment.GetValueOrDefault).Serve!;

        Assert.Equal((7000, "::1"), (fromEnvironment.Port, fromEnvironment.Host));
        Assert.Equal((7001, "localhost"), (fromFlags.Port, fromFlags.Host));
    }

    [Theory]
    [InlineData("--port", "--port", "70000")]
    [InlineData("--port", "--port", "http")]
    [InlineData("--host", "--host", "example.com")]
    [InlineData("--alias", "--alias", "")]
    [InlineData("--ctx-size", "--ctx-size", "8")]
    [InlineData("--threads", "--threads", "0")]
    [InlineData("--parallel", "--parallel", "-1")]
    [InlineData("--temperature", "--temperature", "1")]
    [InlineData("--threads", "--threads")]
    [InlineData("-ngl", "-ngl", "99")]
    [InlineData("--n-gpu-layers", "--n-gpu-layers=1")]
    [InlineData("unexpected argument 'extra'", "extra")]
    public void Parse_BadFlag_ThrowsAOneLineMessageNamingIt(string flag, params string[] args)
    {
        var error = Assert.Throws<UsageException>(() => Parse(["--model", _model, .. args]));

        Assert.StartsWith(flag, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Parse_BadPortEnvironment_NamesTheVariable()
    {
        var error = Assert.Throws<UsageException>(() => ServerCommandLine.Parse(["--model", _model], name => name == "PORT" ? "eighty" : null));

        Assert.StartsWith("PORT:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingOrAbsentModel_NamesModel()
    {
        Assert.StartsWith("--model", Assert.Throws<UsageException>(() => Parse("--port", "1")).Message, StringComparison.Ordinal);
        Assert.StartsWith("--model", Assert.Throws<UsageException>(() => Parse("--model", "/nonexistent/x.gguf")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Bench_ReadsTokensAndRuns()
    {
        var bench = Parse("bench", "--model", _model, "--tokens", "32", "--runs=3").Benchmark!;

        Assert.Equal((32, 3, 1), (bench.Tokens, bench.Runs, bench.Server.Threads));
    }

    [Fact]
    public async Task Executable_WithABadFlag_ExitsWithCode2AndNamesIt()
    {
        using var server = ServerProcess.Start("--model", _model, "--port", "not-a-port");

        Assert.Equal(ServerCommandLine.UsageExitCode, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("model-serve-shim-llama: --port: must be an integer from 0 to 65535 (got 'not-a-port').", server.Output.Trim());
    }

    private static Launch Parse(params string[] args) => ServerCommandLine.Parse(args, _ => null);
}
