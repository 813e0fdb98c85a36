using System.Net;
using ModelServeShim.LlamaServer.Apis;
using ModelServeShim.LlamaServer.Inference;

namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>Builds and runs the server for a parsed command line.</summary>
public static class LlamaServerApp
{
    /// <summary>The app, ready to run; <paramref name="configure"/> lets tests swap the server (e.g. a TestServer).</summary>
    public static WebApplication Create(ServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The command line is ours (ServerCommandLine); none of it is host configuration.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ApplicationName = typeof(LlamaServerApp).Assembly.GetName().Name });
        builder.Services.AddLlamaServer(options);
        builder.Logging.AddFilter(LlamaInference.NativeLogCategory, LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (options.Host == "localhost" && options.Port != 0)
            {
                kestrel.ListenLocalhost(options.Port);
            }
            else
            {
                kestrel.Listen(options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host), options.Port);
            }
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapOpenAiApi();
        return app;
    }

    public static IServiceCollection AddLlamaServer(this IServiceCollection services, ServerOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LlamaInference>();
        services.AddHostedService<ModelLoader>();
        return services;
    }

    /// <summary>Starts, logs the bound addresses (so <c>--port 0</c> can be used), and runs until shut down.</summary>
    public static async Task RunAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await app.StartAsync();
        foreach (string url in app.Urls)
        {
            app.Logger.LogInformation("model-serve-shim-llama listening on {Url}", url);
        }

        await app.WaitForShutdownAsync();
    }
}
