using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.IntegrationTests.CrashResume;

/// <summary>
/// A minimal HTTP server on 127.0.0.1 that counts requests per path. <c>/slow</c> holds its answer for a
/// while, so a step calling it is in flight long enough to be killed.
/// </summary>
public sealed class CountingServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _slowSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeSpan _slowHold;
    private WebApplication? _app;

    private CountingServer(TimeSpan slowHold) => _slowHold = slowHold;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Completes when the first <c>/slow</c> request arrives.</summary>
    public Task SlowSeen => _slowSeen.Task;

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public string Describe() => string.Join(", ", _hits.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key}={h.Value}"));

    public static async Task<CountingServer> StartAsync(TimeSpan slowHold)
    {
        var server = new CountingServer(slowHold);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseAddress = new Uri($"http://127.0.0.1:{new Uri(address).Port}");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        _hits.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (path == "/slow")
        {
            _slowSeen.TrySetResult();
            try
            {
                await Task.Delay(_slowHold, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // The caller died mid-request.
            }
        }

        await context.Response.WriteAsJsonAsync(new { path });
    }
}
