using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>
/// A stand-in for the serving runtimes the test shimlet "starts": an <see cref="HttpListener"/> on 127.0.0.1
/// answering <c>/svc/{serviceId}/health</c> (200, or 503 while the service is flipped unhealthy) and an
/// OpenAI-style <c>/svc/{serviceId}/v1/models</c> listing the service's model name. Each service's endpoint is
/// <c>http://127.0.0.1:{port}/svc/{serviceId}/</c>. (HttpListener rather than a second ASP.NET host, so nothing
/// here can be mistaken for the host WebApplicationFactory is building.)
/// </summary>
public sealed class FakeRuntime : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _requests;

    private FakeRuntime(int port)
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri BaseAddress { get; }

    /// <summary>(healthy, model name) of a service, or null when it does not exist.</summary>
    public Func<string, (bool Healthy, string ModelName)?> Lookup { get; set; } = _ => null;

    public int Requests => Volatile.Read(ref _requests);

    public static FakeRuntime Start()
    {
        // HttpListener needs a concrete port: take a free one from the OS. Retry if someone grabs it first.
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try
            {
                return new FakeRuntime(port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
    }

    public Uri EndpointFor(string serviceId) => new(BaseAddress, $"svc/{serviceId}/");

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Answer(context));
        }
    }

    private void Answer(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        using var response = context.Response;
        var segments = context.Request.Url!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // svc/{id}/health or svc/{id}/v1/models
        var service = segments is ["svc", var id, ..] ? Lookup(id) : null;
        if (context.Request.HttpMethod != "GET" || service is not { } s)
        {
            response.StatusCode = 404;
            return;
        }

        switch (segments[2..])
        {
            case ["health"]:
                response.StatusCode = s.Healthy ? 200 : 503;
                Write(response, s.Healthy ? """{"status":"ok"}""" : """{"status":"unavailable"}""");
                break;
            case ["v1", "models"]:
                response.StatusCode = 200;
                Write(response, JsonSerializer.Serialize(new { @object = "list", data = new[] { new { id = s.ModelName, @object = "model", owned_by = "test" } } }));
                break;
            default:
                response.StatusCode = 404;
                break;
        }
    }

    private static void Write(HttpListenerResponse response, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }
}
