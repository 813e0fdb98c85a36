using System.Net;

namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// The readiness probe of a replica a shimlet runs itself: <c>GET</c> its health URL, ready when it answers 200 within
/// the timeout. No proxy and no redirects (replicas answer on loopback or a node address the shimlet chose). One probe
/// per shimlet; it is safe to use from several threads at once.
/// </summary>
public sealed class HealthProbe : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Creates the probe.</summary>
    /// <param name="timeout">How long one probe may take, connecting included.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    public HealthProbe(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = timeout,
        })
        {
            Timeout = timeout,
        };
    }

    /// <summary>
    /// Whether <paramref name="url"/> answers 200. A refused connection, any other status or the probe's own timeout is
    /// false; cancelling <paramref name="cancellationToken"/> throws.
    /// </summary>
    public async Task<bool> IsReadyAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the probe's own timeout
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
