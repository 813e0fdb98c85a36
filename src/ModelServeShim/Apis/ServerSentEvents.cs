namespace ModelServeShim.Apis;

/// <summary>Writing server-sent events (<c>text/event-stream</c>): headers, events and keep-alive comments.</summary>
internal static class ServerSentEvents
{
    /// <summary>How long a stream may stay silent before a keep-alive comment is sent (proxies close idle connections).</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>How long a browser waits before reconnecting a dropped stream (sent as the stream's first line).</summary>
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Sets the event-stream headers (no caching, no buffering by reverse proxies) and writes the reconnect delay
    /// as the first bytes, flushed at once: some proxies (Vite's dev proxy among them) pass the headers on only with
    /// the first bytes of the body, and a client sees the stream open only when the headers arrive.
    /// </summary>
    public static async Task StartAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.WriteAsync($"retry: {(int)ReconnectDelay.TotalMilliseconds}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
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
