namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary>One server-sent event.</summary>
public sealed record ServerSentEvent(string? Id, string Event, string Data);

/// <summary>Reads server-sent events from a response body, one at a time (comments such as keep-alives are skipped).</summary>
public sealed class ServerSentEventReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream);

    /// <summary>The comments seen so far (e.g. <c>keep-alive</c>).</summary>
    public List<string> Comments { get; } = [];

    /// <summary>The next event; null when the server closed the stream.</summary>
    public async Task<ServerSentEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? id = null, name = null, data = null;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null)
                {
                    return new ServerSentEvent(id, name, data ?? "");
                }

                (id, name, data) = (null, null, null);
            }
            else if (line.StartsWith(':'))
            {
                Comments.Add(line[1..].Trim());
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return null;
    }

    /// <summary>Reads events until the server closes the stream (or the token fires: a failure).</summary>
    public static async Task<List<ServerSentEvent>> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var events = new List<ServerSentEvent>();
        while (await reader.ReadAsync(cancellationToken) is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    public void Dispose() => _reader.Dispose();
}
