using Microsoft.Extensions.Hosting;

namespace ModelServeShim.Workflows;

/// <summary>
/// A background service whose cancellation is never reported as a failure. The host logs any exception of
/// <see cref="BackgroundService.ExecuteAsync"/> as "BackgroundService failed" unless it was stopped through
/// <c>StopAsync</c>; when the start fails (a port in use, a database refused) the host is disposed without a stop, and
/// every service that was waiting on its token would be logged as failed beside the real error.
/// </summary>
public abstract class QuietBackgroundService : BackgroundService
{
    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping, or its start failed and it is being disposed: not a failure of this service.
        }
    }

    /// <summary>The service's work, until <paramref name="stoppingToken"/> is cancelled.</summary>
    protected abstract Task RunAsync(CancellationToken stoppingToken);
}
