using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

public sealed partial class KubernetesShimlet
{
    private const int ListPageSize = 500;

    /// <summary>
    /// Yields the status now and again after every change the API server reports for the service's pods,
    /// Deployments or StatefulSets. Each resource is watched list-then-watch from the list's resourceVersion;
    /// a 410 Gone (HTTP status or ERROR event) re-lists, a dropped connection re-connects with exponential backoff
    /// timed by <paramref name="timeProvider"/>. Consecutive identical statuses are yielded once.
    /// </summary>
    public async IAsyncEnumerable<ShimletStatus> WatchStatusAsync(
        ServiceTarget target,
        TimeProvider timeProvider,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var client = clientFactory.GetClient();
        var (ns, selector) = Locate(target);

        // One pending signal is enough: events that arrive while a status is computed collapse into one.
        var changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timeoutSeconds = (int)_options.WatchTimeout.TotalSeconds;
        var loops = new[]
        {
            WatchLoopAsync<V1Pod, V1PodList>("pods", ns, changes.Writer, timeProvider,
                (version, continueToken, watch, ct) => client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, allowWatchBookmarks: watch ? true : null,
                    continueParameter: continueToken, labelSelector: selector, limit: watch ? null : ListPageSize, resourceVersion: version,
                    timeoutSeconds: watch ? timeoutSeconds : null, watch: watch ? true : null, cancellationToken: ct),
                watching.Token),
            WatchLoopAsync<V1Deployment, V1DeploymentList>("deployments", ns, changes.Writer, timeProvider,
                (version, continueToken, watch, ct) => client.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, allowWatchBookmarks: watch ? true : null,
                    continueParameter: continueToken, labelSelector: selector, limit: watch ? null : ListPageSize, resourceVersion: version,
                    timeoutSeconds: watch ? timeoutSeconds : null, watch: watch ? true : null, cancellationToken: ct),
                watching.Token),
            WatchLoopAsync<V1StatefulSet, V1StatefulSetList>("statefulsets", ns, changes.Writer, timeProvider,
                (version, continueToken, watch, ct) => client.AppsV1.ListNamespacedStatefulSetWithHttpMessagesAsync(ns, allowWatchBookmarks: watch ? true : null,
                    continueParameter: continueToken, labelSelector: selector, limit: watch ? null : ListPageSize, resourceVersion: version,
                    timeoutSeconds: watch ? timeoutSeconds : null, watch: watch ? true : null, cancellationToken: ct),
                watching.Token),
        };

        try
        {
            ShimletStatus? last = null;
            var retry = ReconnectBackoff();
            var first = true;
            while (first || await changes.Reader.WaitToReadAsync(cancellationToken))
            {
                first = false;
                changes.Reader.TryRead(out _);
                var (status, retryAfter) = await TryGetStatusAsync(target, cancellationToken);
                if (status is null)
                {
                    // A transient API failure: try again after a backoff even if no event arrives meanwhile; a server that
                    // throttles (429 Retry-After) is given the time it asks for, up to the longest reconnect delay.
                    var delay = retry.Next();
                    if (retryAfter > delay)
                    {
                        delay = retryAfter.Value < _options.WatchReconnectMaxDelay ? retryAfter.Value : _options.WatchReconnectMaxDelay;
                    }

                    await Task.Delay(delay, timeProvider, cancellationToken);
                    changes.Writer.TryWrite(true);
                    continue;
                }

                retry.Reset();
                if (status != last)
                {
                    last = status;
                    yield return status;
                }
            }
        }
        finally
        {
            await watching.CancelAsync();
            await Task.WhenAll(loops);
        }
    }

    /// <summary>The status, or null and the server's Retry-After (if it sent one) after a retryable failure.</summary>
    private async Task<(ShimletStatus? Status, TimeSpan? RetryAfter)> TryGetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        try
        {
            return (await GetStatusAsync(target, cancellationToken), null);
        }
        catch (StepException e) when (e.Retryable)
        {
            logger.LogWarning(e, "Reading the status of {ServiceId} failed; retrying", target.ServiceId);
            return (null, e.Details.TryGetValue(KubernetesApiErrors.RetryAfterSecondsDetail, out var seconds) && seconds is int value ? TimeSpan.FromSeconds(value) : null);
        }
    }

    /// <summary>
    /// Keeps one list-then-watch running until cancelled and signals <paramref name="changes"/> after the
    /// initial list and after every event. Never throws: it ends when <paramref name="cancellationToken"/> fires.
    /// </summary>
    private async Task WatchLoopAsync<TItem, TList>(
        string resource,
        string ns,
        ChannelWriter<bool> changes,
        TimeProvider time,
        Func<string?, string?, bool, CancellationToken, Task<HttpOperationResponse<TList>>> call,
        CancellationToken cancellationToken)
        where TItem : IMetadata<V1ObjectMeta>
        where TList : IMetadata<V1ListMeta>
    {
        string? version = null;
        var failures = 0;
        var reconnect = ReconnectBackoff();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    version = await ListAsync(call, cancellationToken);
                    changes.TryWrite(true);
                }

                Exception? watchError = null;
#pragma warning disable CS0618 // WatchAsync is marked "will be deprecated" without a replacement; it is the client's documented watch API.
                var events = call(version, null, true, cancellationToken).WatchAsync<TItem, TList>(e => watchError ??= e, cancellationToken);
#pragma warning restore CS0618
                await foreach (var (type, item) in events)
                {
                    failures = 0;
                    reconnect.Reset();
                    if (item?.Metadata?.ResourceVersion is { Length: > 0 } itemVersion)
                    {
                        version = itemVersion;
                    }

                    if (type != WatchEventType.Bookmark)
                    {
                        changes.TryWrite(true);
                    }
                }

                switch (watchError)
                {
                    case KubernetesException { Status.Code: (int)HttpStatusCode.Gone }:
                        logger.LogInformation("Watch of {Resource} in {Namespace} expired at resourceVersion {Version}; re-listing", resource, ns, version);
                        version = null;
                        break;
                    case not null:
                        throw watchError;
                    default:
                        // The server ended the watch (its timeout): resume from the last version seen.
                        break;
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                logger.LogInformation("Watch of {Resource} in {Namespace} expired at resourceVersion {Version}; re-listing", resource, ns, version);
                version = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failures++;
                var delay = reconnect.Next();
                logger.LogWarning(e, "Watch of {Resource} in {Namespace} failed (attempt {Attempt}); reconnecting in {Delay}", resource, ns, failures, delay);
                try
                {
                    await Task.Delay(delay, time, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Lists in pages, as informers do; the first page's resourceVersion is the snapshot to watch from.</summary>
    private static async Task<string?> ListAsync<TList>(
        Func<string?, string?, bool, CancellationToken, Task<HttpOperationResponse<TList>>> call, CancellationToken cancellationToken)
        where TList : IMetadata<V1ListMeta>
    {
        string? version = null;
        string? continueToken = null;
        do
        {
            using var page = await call(null, continueToken, false, cancellationToken);
            version ??= page.Body.Metadata?.ResourceVersion;
            continueToken = page.Body.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(continueToken));

        return version;
    }

    /// <summary>The reconnect and retry delays: <see cref="KubernetesShimletOptions.WatchReconnectInitialDelay"/>, doubling up to <see cref="KubernetesShimletOptions.WatchReconnectMaxDelay"/>.</summary>
    private ProbeBackoff ReconnectBackoff() => new(_options.WatchReconnectInitialDelay, _options.WatchReconnectMaxDelay);
}
