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
    private int _inferences;
    private int _disposed;
    private int _holding;
    private int _aborted;

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

    /// <summary>OpenAI POSTs answered (chat/completions, completions, embeddings).</summary>
    public int Inferences => Volatile.Read(ref _inferences);

    /// <summary>The Authorization header of the last OpenAI POST (null when none came).</summary>
    public string? LastAuthorization { get; private set; }

    /// <summary>The path of the last OpenAI POST.</summary>
    public string? LastPath { get; private set; }

    /// <summary>The body of the last OpenAI POST, as received.</summary>
    public string? LastBody { get; private set; }

    /// <summary>Requests whose body has <c>"hold": true</c> wait for this before answering.</summary>
    public TaskCompletionSource Hold { get; set; } = NewHold();

    /// <summary>OpenAI answers that could not be finished because the client had gone.</summary>
    public int Aborted => Volatile.Read(ref _aborted);

    /// <summary>Requests waiting for <see cref="Hold"/>.</summary>
    public int Holding => Volatile.Read(ref _holding);

    /// <summary>Set when the last streamed answer wrote its final event.</summary>
    public bool StreamFinished { get; private set; }

    /// <summary>The usage every non-streamed answer reports.</summary>
    public static (int Prompt, int Completion) Usage => (7, 4);

    /// <summary>The usage the final chunk of a streamed answer reports.</summary>
    public static (int Prompt, int Completion) StreamUsage => (5, 3);

    public static TaskCompletionSource NewHold() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    /// <summary>A runtime on a given port (a replica that comes back where it was).</summary>
    public static FakeRuntime StartOn(int port) => new(port);

    public Uri EndpointFor(string serviceId) => new(BaseAddress, $"svc/{serviceId}/");

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

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

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        using var response = context.Response;
        var segments = context.Request.Url!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // svc/{id}/health or svc/{id}/v1/models
        var service = segments is ["svc", var id, ..] ? Lookup(id) : null;
        if (context.Request.HttpMethod == "POST" && service is { } posted)
        {
            try
            {
                await InferAsync(context, response, segments[2..], posted.ModelName);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
            {
                // The client (the gateway) went away.
                Interlocked.Increment(ref _aborted);
            }

            return;
        }

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

    /// <summary>OpenAI-style answers with a fixed usage; <c>"stream": true</c> streams three chunks and a final usage chunk.</summary>
    private async Task InferAsync(HttpListenerContext context, HttpListenerResponse response, string[] path, string modelName)
    {
        Interlocked.Increment(ref _inferences);
        string body;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        LastAuthorization = context.Request.Headers["Authorization"];
        LastPath = context.Request.Url!.AbsolutePath;
        LastBody = body;
        var request = JsonDocument.Parse(body).RootElement;
        if (request.TryGetProperty("hold", out var hold) && hold.GetBoolean())
        {
            Interlocked.Increment(ref _holding);
            await Hold.Task;
            Interlocked.Decrement(ref _holding);
        }

        response.AddHeader("X-Fake-Runtime", BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stream = request.TryGetProperty("stream", out var s) && s.GetBoolean();
        switch (path)
        {
            case ["v1", "chat", "completions"] or ["v1", "completions"] when stream:
                StreamFinished = false;
                response.StatusCode = 200;
                response.ContentType = "text/event-stream";
                response.SendChunked = true;
                var kind = path[1] == "chat" ? "chat.completion.chunk" : "text_completion";
                foreach (var word in new[] { "Once", " upon", " a" })
                {
                    await WriteEventAsync(response, JsonSerializer.Serialize(new { id = "x", @object = kind, model = modelName, choices = new[] { new { index = 0, delta = new { content = word }, text = word } } }));
                    await Task.Delay(100);
                }

                await WriteEventAsync(response, JsonSerializer.Serialize(new
                {
                    id = "x", @object = kind, model = modelName, choices = Array.Empty<object>(),
                    usage = new { prompt_tokens = StreamUsage.Prompt, completion_tokens = StreamUsage.Completion, total_tokens = StreamUsage.Prompt + StreamUsage.Completion },
                }));
                await WriteEventAsync(response, "[DONE]");
                StreamFinished = true;
                break;
            case ["v1", "chat", "completions"] or ["v1", "completions"]:
                response.StatusCode = 200;
                Write(response, JsonSerializer.Serialize(new
                {
                    id = "x", @object = path[1] == "chat" ? "chat.completion" : "text_completion", model = modelName,
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = "Once upon a time" }, text = "Once upon a time", finish_reason = "length" } },
                    usage = new { prompt_tokens = Usage.Prompt, completion_tokens = Usage.Completion, total_tokens = Usage.Prompt + Usage.Completion },
                }));
                break;
            case ["v1", "embeddings"]:
                response.StatusCode = 200;
                Write(response, JsonSerializer.Serialize(new
                {
                    @object = "list", model = modelName, data = new[] { new { @object = "embedding", index = 0, embedding = new[] { 0.25, -0.5, 1.0 } } },
                    usage = new { prompt_tokens = Usage.Prompt, total_tokens = Usage.Prompt },
                }));
                break;
            default:
                response.StatusCode = 404;
                break;
        }
    }

    private static async Task WriteEventAsync(HttpListenerResponse response, string data)
    {
        var bytes = Encoding.UTF8.GetBytes($"data: {data}\n\n");
        await response.OutputStream.WriteAsync(bytes);
        await response.OutputStream.FlushAsync();
    }

    private static void Write(HttpListenerResponse response, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }
}
