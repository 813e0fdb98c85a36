using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>
/// A stand-in for a serving runtime: Kestrel on 127.0.0.1 (random port) answering <c>/health</c> and an
/// OpenAI-style <c>/v1/models</c> that lists <see cref="ServedModels"/>.
/// </summary>
public sealed class FakeRuntimeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _healthCalls;

    private FakeRuntimeServer(WebApplication app, string[] servedModels)
    {
        _app = app;
        ServedModels = servedModels;
    }

    public string[] ServedModels { get; set; }

    /// <summary>What /health answers.</summary>
    public HttpStatusCode HealthStatus { get; set; } = HttpStatusCode.OK;

    public int HealthCalls => Volatile.Read(ref _healthCalls);

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<FakeRuntimeServer> StartAsync(params string[] servedModels)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeRuntimeServer(app, servedModels);
        app.MapGet("/health", () =>
        {
            Interlocked.Increment(ref server._healthCalls);
            return Results.StatusCode((int)server.HealthStatus);
        });
        app.MapGet("/v1/models", () => Results.Json(new
        {
            @object = "list",
            data = server.ServedModels.Select(id => new { id, @object = "model", owned_by = "test" }),
        }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseAddress = new Uri(address);
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
