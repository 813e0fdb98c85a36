using ModelServeShim.Bench;

return await BenchCommand.RunAsync(args, Console.Out);
