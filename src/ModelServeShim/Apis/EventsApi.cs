using ModelServeShim.ControlPlane;
using ModelServeShim.Security;

namespace ModelServeShim.Apis;

/// <summary><c>/api/v1/events</c>: one server-wide stream of server-sent events for the web UI.</summary>
public static class EventsApi
{
    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/events", StreamAsync).WithTags("Events").RequireAuthorization(Policies.View).WithName("StreamEvents")
            .WithSummary("Server-sent events: 'service' (a service's summary on every change), 'instance' and 'step' (workflow status changes), "
                + "'definition' (a version stored or deleted); a keep-alive comment every 15 s. Browsers may pass the key as ?access_token=.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        return app;
    }

    private static async Task StreamAsync(HttpContext http, EventBroadcaster broadcaster, TimeProvider time, CancellationToken ct)
    {
        using var subscription = broadcaster.Subscribe();
        try
        {
            // Open the stream at once, so the client knows it is subscribed before the first event.
            await ServerSentEvents.StartAsync(http.Response, ct);
            while (!ct.IsCancellationRequested)
            {
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

                await ServerSentEvents.WriteAsync(http.Response, e.Name, e.Data, null, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client left: the subscription ends with this request.
        }
    }
}
