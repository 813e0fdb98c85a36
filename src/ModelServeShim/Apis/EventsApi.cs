using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelServeShim.ControlPlane;
using ModelServeShim.Security;

namespace ModelServeShim.Apis;

/// <summary>
/// <c>/api/v1/events</c>: one server-wide stream of server-sent events for the web UI. Each event's <c>id</c> is its
/// sequence in the event log (on PostgreSQL the same on every replica); a client that reconnects with
/// <c>Last-Event-ID</c> (browsers send it by themselves) or <c>?afterSequence=</c> gets every retained event after it,
/// then the live ones, without a gap or a repeat, or an <c>event: reset</c> when they are no longer retained.
/// </summary>
public static class EventsApi
{
    /// <summary>How many retained events are read from the log at a time while a stream catches up.</summary>
    private const int BacklogPage = 500;

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/events", StreamAsync).WithTags("Events").RequireAuthorization(Policies.View).WithName("StreamEvents")
            .WithSummary("Server-sent events: 'service' (a service's summary on every change), 'instance' and 'step' (workflow status changes), "
                + "'definition' (a version stored or deleted); a keep-alive comment every 15 s. Each event's id is its sequence: reconnect with the "
                + "Last-Event-ID header or ?afterSequence= to get what was missed; 'reset' says it is no longer retained (reload). "
                + "Browsers may pass the key as ?access_token=.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesValidationProblem();
        return app;
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StreamAsync(
        HttpContext http, EventBroadcaster broadcaster, TimeProvider time, CancellationToken ct, string? afterSequence = null)
    {
        // The header wins: a browser's EventSource reconnects to the same URL and says where it got to in it.
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        var (field, text) = header.Length > 0 ? ("Last-Event-ID", header) : ("afterSequence", afterSequence);
        long? after = null;
        if (!string.IsNullOrEmpty(text))
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return Problems.BadRequest(field, $"{field} is the sequence (the id) of the last event received: a whole number of zero or more.");
            }

            after = value;
        }

        // Subscribed before the backlog is read: an event is either in the backlog or queued here (or both: sent once).
        using var subscription = broadcaster.Subscribe();
        try
        {
            // Open the stream at once, so the client knows it is subscribed before the first event.
            await ServerSentEvents.StartAsync(http.Response, ct);
            var last = after ?? long.MinValue;
            if (after is not null)
            {
                last = await CatchUpAsync(http.Response, broadcaster, last, ct);
            }

            while (!ct.IsCancellationRequested)
            {
                if (subscription.Lagged())
                {
                    // The queue overflowed: send what is queued, then read the rest from the log.
                    while (subscription.Reader.TryRead(out var queued))
                    {
                        last = await SendAsync(http.Response, queued, last, ct);
                    }

                    last = await CatchUpAsync(http.Response, broadcaster, last, ct);
                    continue;
                }

                using var quiet = new CancellationTokenSource(ServerSentEvents.KeepAliveInterval, time);
                using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(ct, quiet.Token);
                ServerEvent e;
                try
                {
                    e = await subscription.Reader.ReadAsync(keepAlive.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await ServerSentEvents.KeepAliveAsync(http.Response, ct);
                    continue;
                }

                last = await SendAsync(http.Response, e, last, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client left: the subscription ends with this request.
        }

        return TypedResults.Empty;
    }

    /// <summary>Sends the retained events after <paramref name="last"/>, or a reset; returns the new position.</summary>
    private static async Task<long> CatchUpAsync(HttpResponse response, EventBroadcaster broadcaster, long last, CancellationToken ct)
    {
        while (true)
        {
            var backlog = await broadcaster.ReadAfterAsync(Math.Max(last, 0), BacklogPage, ct);
            if (backlog.Reset is { } latest)
            {
                // What the client asked for is gone (or was never here): it must reload what it shows. The reset carries
                // the latest sequence as its id, so a browser that reconnects later resumes from there.
                var data = $$"""{"requestedAfter":{{last.ToString(CultureInfo.InvariantCulture)}},"latest":{{latest.ToString(CultureInfo.InvariantCulture)}}}""";
                await ServerSentEvents.WriteAsync(response, "reset", data, latest.ToString(CultureInfo.InvariantCulture), ct);
                return latest;
            }

            foreach (var e in backlog.Events)
            {
                last = await SendAsync(response, e, last, ct);
            }

            if (backlog.Events.Count < BacklogPage)
            {
                return last;
            }
        }
    }

    /// <summary>Sends an event unless it was sent already (events come in sequence order); returns the new position.</summary>
    private static async Task<long> SendAsync(HttpResponse response, ServerEvent e, long last, CancellationToken ct)
    {
        if (e.Sequence <= last)
        {
            return last;
        }

        await ServerSentEvents.WriteAsync(response, e.Name, e.Data, e.Sequence.ToString(CultureInfo.InvariantCulture), ct);
        return e.Sequence;
    }
}
