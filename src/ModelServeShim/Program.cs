using ModelServeShim.Apis;
using ModelServeShim.Apis.Elsa;
using ModelServeShim.Hosting;
using ModelServeShim.Workflows.Persistence;

if (await CommandLine.TryRunCommandAsync(args, Console.Out, Console.Error) is { } exitCode)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, CommandLine.SwitchMappings);
builder.AddModelServeShim();

var app = builder.Build();
app.UseModelServeShim();
app.MapActivitiesApi();
app.MapWorkflowDefinitionsApi();
app.MapWorkflowInstancesApi();
app.MapModServApi();
app.MapPluginsApi();
app.MapSystemApi();
app.MapEventsApi();
app.MapGatewayApi();
app.MapElsaApi();

try
{
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (ConfigurationErrors.From(e) is { Count: > 0 } failures)
{
    await Console.Error.WriteLineAsync($"model-serve-shim: invalid configuration: {string.Join(" ", failures)}");
    return 2;
}
catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    await Console.Error.WriteLineAsync(
        $"model-serve-shim: {e.Message.TrimEnd('.')}: another process listens there (another model-serve-shim?). Stop it, or choose another port with --port=<n> (ModelServeShim:Port).");
    return 2;
}
catch (StateStoreUnavailableException e)
{
    await Console.Error.WriteLineAsync($"model-serve-shim: {e.Message}");
    return 3;
}

/// <summary>The program (visible to integration tests).</summary>
public partial class Program;
