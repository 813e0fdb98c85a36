using Stateless;

namespace ModelServeShim.ControlPlane;

/// <summary>What can happen to a service.</summary>
public enum ServiceTrigger
{
    /// <summary>Its pipeline instance started.</summary>
    PipelineStarted,
    /// <summary>A step mapped to <see cref="ServiceState.PipelineRunning"/> started.</summary>
    EnterPipeline,
    /// <summary>A step mapped to <see cref="ServiceState.Deploying"/> started.</summary>
    EnterDeploying,
    /// <summary>A step mapped to <see cref="ServiceState.HealthChecking"/> started.</summary>
    EnterHealthChecking,
    /// <summary>The pipeline completed and the service answers.</summary>
    PipelineSucceeded,
    /// <summary>The pipeline completed without deploying (dry run).</summary>
    PipelineCompletedWithoutDeploying,
    /// <summary>The pipeline faulted or was cancelled.</summary>
    PipelineFailed,
    /// <summary>The health monitor saw it unhealthy.</summary>
    HealthLost,
    /// <summary>The health monitor saw it healthy again.</summary>
    HealthRestored,
    /// <summary>An undeploy was requested.</summary>
    StopRequested,
    /// <summary>Its resources are gone.</summary>
    StopCompleted,
    /// <summary>Removing its resources failed.</summary>
    StopFailed,
    /// <summary>A redeploy was requested.</summary>
    Redeploy,
    /// <summary>A scale was requested (its pipeline starts).</summary>
    ScaleRequested,
    /// <summary>The scale pipeline completed.</summary>
    ScaleCompleted,
    /// <summary>The scale pipeline failed: the replicas may not match the desired state.</summary>
    ScaleFailed,
    /// <summary>A step mapped to <see cref="ServiceState.AwaitingApproval"/> started (it waits for a sign-off).</summary>
    EnterAwaitingApproval,
}

/// <summary>
/// The service lifecycle as a Stateless state machine: Initializing → PipelineRunning (→ AwaitingApproval) → Deploying →
/// HealthChecking → Running, with Failed, Degraded, Scaling, Stopping and Stopped. Which pipeline step moves the
/// service into which state is data (<see cref="ControlPlaneOptions.StepStates"/>), not a switch on step names.
/// </summary>
public sealed class ServiceLifecycle
{
    private static readonly ServiceState[] InPipeline =
        [ServiceState.Initializing, ServiceState.PipelineRunning, ServiceState.AwaitingApproval, ServiceState.Deploying, ServiceState.HealthChecking];

    private readonly StateMachine<ServiceState, ServiceTrigger> _machine;

    /// <summary>Creates the machine in <paramref name="state"/>.</summary>
    public ServiceLifecycle(ServiceState state)
    {
        _machine = new StateMachine<ServiceState, ServiceTrigger>(state);
        _machine.Configure(ServiceState.Initializing)
            .Permit(ServiceTrigger.PipelineStarted, ServiceState.PipelineRunning);
        foreach (var s in InPipeline)
        {
            var c = _machine.Configure(s);
            Route(c, s, ServiceTrigger.EnterPipeline, ServiceState.PipelineRunning);
            Route(c, s, ServiceTrigger.EnterDeploying, ServiceState.Deploying);
            Route(c, s, ServiceTrigger.EnterHealthChecking, ServiceState.HealthChecking);
            Route(c, s, ServiceTrigger.EnterAwaitingApproval, ServiceState.AwaitingApproval);
            c.Permit(ServiceTrigger.PipelineSucceeded, ServiceState.Running)
                .Permit(ServiceTrigger.PipelineCompletedWithoutDeploying, ServiceState.Stopped)
                .Permit(ServiceTrigger.PipelineFailed, ServiceState.Failed)
                .Permit(ServiceTrigger.StopRequested, ServiceState.Stopping);
        }

        _machine.Configure(ServiceState.Running)
            .Permit(ServiceTrigger.ScaleRequested, ServiceState.Scaling)
            .Permit(ServiceTrigger.HealthLost, ServiceState.Degraded)
            .Permit(ServiceTrigger.StopRequested, ServiceState.Stopping)
            .Permit(ServiceTrigger.Redeploy, ServiceState.Initializing);
        _machine.Configure(ServiceState.Degraded)
            .Permit(ServiceTrigger.ScaleRequested, ServiceState.Scaling)
            .Permit(ServiceTrigger.HealthRestored, ServiceState.Running)
            .Permit(ServiceTrigger.StopRequested, ServiceState.Stopping)
            .Permit(ServiceTrigger.Redeploy, ServiceState.Initializing);
        _machine.Configure(ServiceState.Scaling)
            .Permit(ServiceTrigger.ScaleCompleted, ServiceState.Running)
            .Permit(ServiceTrigger.ScaleFailed, ServiceState.Degraded)
            .Permit(ServiceTrigger.StopRequested, ServiceState.Stopping);
        _machine.Configure(ServiceState.Failed)
            .Permit(ServiceTrigger.StopRequested, ServiceState.Stopping)
            .Permit(ServiceTrigger.Redeploy, ServiceState.Initializing);
        _machine.Configure(ServiceState.Stopping)
            .Permit(ServiceTrigger.StopCompleted, ServiceState.Stopped)
            .Permit(ServiceTrigger.StopFailed, ServiceState.Failed)
            .Ignore(ServiceTrigger.PipelineFailed)
            .Ignore(ServiceTrigger.PipelineSucceeded)
            .Ignore(ServiceTrigger.PipelineCompletedWithoutDeploying);
        _machine.Configure(ServiceState.Stopped)
            .Permit(ServiceTrigger.Redeploy, ServiceState.Initializing);
    }

    /// <summary>The current state.</summary>
    public ServiceState State => _machine.State;

    /// <summary>Whether the trigger is allowed now.</summary>
    public bool CanFire(ServiceTrigger trigger) => _machine.CanFire(trigger);

    /// <summary>Fires a trigger; false (and no change) when it is not allowed in the current state.</summary>
    public bool TryFire(ServiceTrigger trigger)
    {
        if (!_machine.CanFire(trigger))
        {
            return false;
        }

        _machine.Fire(trigger);
        return true;
    }

    /// <summary>States in which the service counts as live (a second deploy of its name is a conflict).</summary>
    public static bool IsLive(ServiceState state) => state is not (ServiceState.Stopped or ServiceState.Failed);

    private static void Route(StateMachine<ServiceState, ServiceTrigger>.StateConfiguration c, ServiceState current, ServiceTrigger trigger, ServiceState target)
    {
        if (current == target)
        {
            c.Ignore(trigger);
        }
        else
        {
            c.Permit(trigger, target);
        }
    }
}
