using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Replicas;

/// <summary>Something that makes a replica unfit to run beside other replicas on the same database.</summary>
public interface IReplicaCheck
{
    /// <summary>Why this replica must not run while another one is live on the database, or null when it may.</summary>
    string? RefuseBesideOthers();
}

/// <summary>
/// This replica's lease on its instances (PostgreSQL only; docs/ha.md). At start it registers (refusing to run beside
/// live replicas when an <see cref="IReplicaCheck"/> says so); then two loops run:
/// <list type="bullet">
/// <item>the heartbeat, every <see cref="ReplicaOptions.HeartbeatInterval"/>, with the self-fencing below;</item>
/// <item>the work, every <see cref="ReplicaOptions.PollInterval"/>: the cancels other replicas recorded for its
/// instances, its instances whose bookmark another replica resolved (a signal sent there), and every heartbeat interval
/// the takeover of the instances of replicas whose lease expired (<see cref="WorkflowEngine.TakeOverAsync"/>).</item>
/// </list>
/// A replica that could not renew its heartbeat for the lease less one heartbeat interval (each round is cut after a
/// heartbeat interval), whose row was removed, or whose instances another replica now owns, stops its runs at once and
/// then the process (a critical log line), so an instance never runs on two replicas. A clean stop removes the row after the runs stopped, so the other replicas take
/// its instances over at once instead of after the lease.
/// </summary>
public sealed class ReplicaLeases(
    ReplicaRegistry registry,
    WorkflowEngine engine,
    StateStore store,
    IEnumerable<IReplicaCheck> checks,
    ILogger<ReplicaLeases> logger,
    IHostApplicationLifetime? lifetime = null) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private int _fenced;

    /// <summary>Whether this replica gave up its lease and stopped its runs.</summary>
    public bool Fenced => Volatile.Read(ref _fenced) == 1;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!registry.IsShared)
        {
            return;
        }

        var others = await registry.LiveOthersAsync(cancellationToken);
        if (others.Count > 0 && checks.Select(c => c.RefuseBesideOthers()).FirstOrDefault(r => r is not null) is { } refusal)
        {
            // A recent heartbeat may be a crashed replica's last one (this very replica before a restart): only one that
            // keeps beating is live.
            await Task.Delay(registry.Options.HeartbeatInterval * 2.5, registry.Time, cancellationToken);
            var beating = (await registry.LiveOthersAsync(cancellationToken))
                .Where(now => others.Any(before => before.Id == now.Id && now.HeartbeatAt > before.HeartbeatAt) || others.All(before => before.Id != now.Id))
                .ToList();
            if (beating.Count > 0)
            {
                throw new StateStoreUnavailableException(
                    $"Another replica ({string.Join(", ", beating.Select(o => $"{o.Host} pid {o.ProcessId}"))}) is live on the {store.Description}, and this one cannot run beside it: {refusal}");
            }

            others = [];
        }

        await registry.RegisterAsync(cancellationToken);
        logger.LogInformation("Replica {Replica} registered on the {Store} ({Others} other live replica(s)); heartbeat every {Heartbeat:0.###} s, lease {Ttl:0.###} s",
            registry.Id, store.Description, others.Count, registry.Options.HeartbeatInterval.TotalSeconds, registry.Options.LeaseTtl.TotalSeconds);
        _loop = Task.WhenAll(
            Task.Run(() => HeartbeatLoopAsync(_stopping.Token), CancellationToken.None),
            Task.Run(() => WorkLoopAsync(_stopping.Token), CancellationToken.None));
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!Fenced)
        {
            // The engine stopped before (hosted services stop in reverse order): nothing of this replica runs any more.
            try
            {
                await registry.DeregisterAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Could not remove replica {Replica} from the registry ({Error}); its instances are taken over when its lease expires", registry.Id, e.Message);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// Renews the heartbeat every <see cref="ReplicaOptions.HeartbeatInterval"/> (each attempt cut after one interval) and
    /// fences this replica when it could not for the lease less one interval, when its row is gone, or when another
    /// replica owns one of its instances. Separate from the work loop, so a long takeover never delays a heartbeat.
    /// </summary>
    private async Task HeartbeatLoopAsync(CancellationToken stoppingToken)
    {
        var time = registry.Time;
        var options = registry.Options;
        var lastRenewed = time.GetUtcNow();

        // The others take over once the lease has run out by their clock: fence one heartbeat interval before that.
        var fenceAfter = options.LeaseTtl - options.HeartbeatInterval;
        while (!stoppingToken.IsCancellationRequested && !Fenced)
        {
            await Task.Delay(options.HeartbeatInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            var now = time.GetUtcNow();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            attempt.CancelAfter(options.HeartbeatInterval);
            try
            {
                if (!await registry.HeartbeatAsync(attempt.Token))
                {
                    await FenceAsync("its row in the replica registry is gone (another replica found its lease expired)");
                    break;
                }

                if (now - lastRenewed > options.LeaseTtl)
                {
                    // Renewed, but after a pause longer than the lease: the others may already run its instances.
                    await FenceAsync($"its heartbeat was renewed {(now - lastRenewed).TotalSeconds:0.0} s after the previous one, later than the lease ({options.LeaseTtl.TotalSeconds:0.###} s)");
                    break;
                }

                lastRenewed = now;
                var stolen = await registry.OwnedByOthersAsync(engine.LocalInstanceIds(), attempt.Token);
                if (stolen.Count > 0)
                {
                    await FenceAsync($"another replica took over {stolen.Count} of its instances ({string.Join(", ", stolen.Take(5))}) after its lease expired");
                    break;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Replica {Replica}: heartbeat failed ({Error}); it fences itself {Left:0.0} s from now unless one succeeds",
                    registry.Id, e.Message, (fenceAfter - (time.GetUtcNow() - lastRenewed)).TotalSeconds);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (time.GetUtcNow() - lastRenewed > fenceAfter)
            {
                await FenceAsync($"its heartbeat was last renewed {(time.GetUtcNow() - lastRenewed).TotalSeconds:0.0} s ago; the lease is {options.LeaseTtl.TotalSeconds:0.###} s");
                break;
            }
        }
    }

    /// <summary>
    /// Every <see cref="ReplicaOptions.PollInterval"/>: carries out cancels recorded for this replica's instances and
    /// resumes those whose bookmark another replica resolved; every <see cref="ReplicaOptions.HeartbeatInterval"/>: takes
    /// over orphaned instances and forgets dead replicas.
    /// </summary>
    private async Task WorkLoopAsync(CancellationToken stoppingToken)
    {
        var time = registry.Time;
        var options = registry.Options;
        var lastTakeover = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested && !Fenced)
        {
            await Task.Delay(options.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested || Fenced)
            {
                break;
            }

            var takeover = time.GetUtcNow() - lastTakeover >= options.HeartbeatInterval;
            try
            {
                await RoundAsync(takeover, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Replica {Replica}: lease round failed ({Error}); it runs again in {Poll:0.###} s", registry.Id, e.Message, options.PollInterval.TotalSeconds);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (takeover)
            {
                lastTakeover = time.GetUtcNow();
            }
        }
    }

    /// <summary>One round of the work loop.</summary>
    internal async Task RoundAsync(bool takeover, CancellationToken cancellationToken)
    {
        if (takeover)
        {
            await engine.TakeOverAsync(cancellationToken);
            await registry.ForgetDeadAsync(cancellationToken);
        }

        engine.ApplyCancelRequests(await registry.CancelRequestsAsync(cancellationToken));
        foreach (var bookmark in await registry.ResolvedAsync(engine.WaitedBookmarkIds(), cancellationToken))
        {
            await engine.Bookmarks.DeliverResolvedAsync(bookmark);
        }
    }

    private async Task FenceAsync(string why)
    {
        if (Interlocked.Exchange(ref _fenced, 1) == 1)
        {
            return;
        }

        logger.LogCritical("Replica {Replica} lost its lease: {Why}. Stopping its runs and the process, so that no instance runs on two replicas", registry.Id, why);
        await engine.StopAsync(CancellationToken.None);
        lifetime?.StopApplication();
    }
}
