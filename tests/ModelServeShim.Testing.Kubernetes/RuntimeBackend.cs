using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Testing.Kubernetes;

/// <summary>
/// A real local HTTP listener standing in for a model runtime behind a Service: <c>/health</c> answers 200 and
/// <c>/v1/models</c> lists <see cref="ServedModel"/>; <c>POST /v1/chat/completions</c> answers a fixed completion with usage. The fake API server's service proxy forwards to it.
/// </summary>
public sealed class RuntimeBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RuntimeBackend(WebApplication app, string servedModel)
    {
        _app = app;
        ServedModel = servedModel;
    }

    public string ServedModel { get; }

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Paths requested, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The bodies of the chat completions it answered, in order.</summary>
    public ConcurrentQueue<string> ChatRequests { get; } = new();

    public static async Task<RuntimeBackend> StartAsync(string servedModel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var backend = new RuntimeBackend(app, servedModel);
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        backend.BaseUri = new Uri(app.Urls.First());
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        Requests.Enqueue(path);
        switch (path)
        {
            case "/health":
                context.Response.StatusCode = 200;
                break;
            case "/v1/models":
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($$"""{"object":"list","data":[{"id":"{{ServedModel}}","object":"model"}]}""");
                break;
            case "/v1/chat/completions" when context.Request.Method == "POST":
                using (var reader = new StreamReader(context.Request.Body))
                {
                    ChatRequests.Enqueue(await reader.ReadToEndAsync(context.RequestAborted));
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($$$"""
                    {"id":"chatcmpl-1","object":"chat.completion","model":"{{{ServedModel}}}",
                     "choices":[{"index":0,"message":{"role":"assistant","content":"hello from the pod"},"finish_reason":"stop"}],
                     "usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}
                    """);
                break;
            default:
                context.Response.StatusCode = 404;
                break;
        }
    }
}
