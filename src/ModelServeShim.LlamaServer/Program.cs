using ModelServeShim.LlamaServer.Hosting;

Launch launch;
try
{
    launch = ServerCommandLine.Parse(args, Environment.GetEnvironmentVariable);
}
catch (UsageException e)
{
    await Console.Error.WriteLineAsync($"model-serve-shim-llama: {e.Message}");
    return ServerCommandLine.UsageExitCode;
}

if (launch.Help)
{
    await Console.Out.WriteLineAsync(ServerCommandLine.Help);
    return 0;
}

if (launch.Benchmark is { } benchmark)
{
    using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
    return await Benchmark.RunAsync(benchmark, Console.Out, loggerFactory);
}

if (launch.Quantize is { } quantize)
{
    using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
    return await Quantizer.RunAsync(quantize, Console.Out, Console.Error, loggerFactory);
}

await using var app = LlamaServerApp.Create(launch.Serve!);
await LlamaServerApp.RunAsync(app);
return 0;
