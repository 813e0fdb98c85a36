namespace ModelServeShim.Apis;

/// <summary>Writing server-sent events (<c>text/event-stream</c>): headers, events and keep-alive comments.</summary>
internal static class ServerSentEvents
{
    /// <summary>How long a stream may stay silent before a keep-alive comment is sent (proxies close idle connections).</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>Sets the event-stream headers: no caching, and no buffering by reverse proxies.</summary>
    public static void Start(HttpResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>Writes and flushes one event; <paramref name="data"/> must be a single line (compact JSON is).</summary>
    public static async Task WriteAsync(HttpResponse response, string name, string data, string? id, CancellationToken cancellationToken)
    {
        var text = id is null ? $"event: {name}\ndata: {data}\n\n" : $"id: {id}\nevent: {name}\ndata: {data}\n\n";
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>Writes and flushes a keep-alive comment.</summary>
    public static async Task KeepAliveAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.WriteAsync(": keep-alive\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
