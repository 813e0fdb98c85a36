using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>After a restart the control plane reconciles services with what their pipelines did meanwhile.</summary>
public sealed class ModServRecoveryTests() : ModServRecoveryTestsBase([]);

/// <summary>The same restarts with the state in PostgreSQL (a database of the test cluster per test).</summary>
public sealed class ModServRecoveryPostgresTests() : ModServRecoveryTestsBase(PostgresState.NewDatabase("recovery"));

public abstract class ModServRecoveryTestsBase(IReadOnlyList<KeyValuePair<string, string>> state) : IDisposable
{
    private readonly TempDirectory _root = new("mss-recovery");

    [Fact]
    public async Task Restart_ServiceWhosePipelineEndedUnseen_AndServiceWhosePipelineNeverStarted_EndFailed()
    {
        var dataDir = _root.Sub("data");
        var workflowsDir = _root.Sub("workflows");
        var now = DateTimeOffset.UtcNow;

        // First run: create the schema, then leave behind what a crash would: a service still Deploying whose
        // pipeline had already faulted, and a service whose pipeline instance was never stored.
        await using (var first = new DirectoryFactory(dataDir, workflowsDir, state))
        {
            first.CreateClient().Dispose();
            var workflows = first.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
            var services = first.Services.GetRequiredService<IDbContextFactory<ControlPlaneDbContext>>();
            await using (var wf = await workflows.CreateDbContextAsync())
            {
                wf.Instances.Add(new InstanceRecord
                {
                    Id = "0000000000000000000000000000abcd", DefinitionId = "opensourcellm", DefinitionVersion = 1,
                    Status = InstanceStatus.Faulted, CorrelationId = "seen-late-1", Operator = "alice", CreatedAt = now, UpdatedAt = now,
                    StartedAt = now, FinishedAt = now, FaultedStep = "model-validation", ErrorType = "ModelNotFound", ErrorMessage = "/models/x does not exist.",
                });
                await wf.SaveChangesAsync();
            }

            await using var cp = await services.CreateDbContextAsync();
            cp.Services.Add(Service("seen-late-1", ServiceState.Deploying, "0000000000000000000000000000abcd", now));
            cp.Services.Add(Service("never-started-1", ServiceState.PipelineRunning, "0000000000000000000000000000ffff", now));
            await cp.SaveChangesAsync();
        }

        await using var second = new DirectoryFactory(dataDir, workflowsDir, state);
        second.CreateClient().Dispose();
        var factory = second.Services.GetRequiredService<IDbContextFactory<ControlPlaneDbContext>>();
        var (late, never) = await Poll.UntilAsync(async () =>
        {
            await using var cp = await factory.CreateDbContextAsync();
            var a = await cp.Services.AsNoTracking().SingleAsync(s => s.Id == "seen-late-1");
            var b = await cp.Services.AsNoTracking().SingleAsync(s => s.Id == "never-started-1");
            return a.State == ServiceState.Failed && b.State == ServiceState.Failed ? Tuple.Create(a, b) : null;
        }, "both services to be reconciled to Failed", TimeSpan.FromSeconds(20));

        Assert.Equal("ModelNotFound", late.LastErrorType);
        Assert.Equal("model-validation", late.LastErrorStep);
        Assert.Equal("PipelineNotStarted", never.LastErrorType);
    }

    [Fact]
    public async Task Restart_DuringAnUndeploy_RunsTheUndeployPipelineAndEndsStopped()
    {
        var dataDir = _root.Sub("data");
        var workflowsDir = _root.Sub("workflows");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ModServFactory.RepositoryRoot, "workflows"), "*.json"))
        {
            File.Copy(file, Path.Combine(workflowsDir, Path.GetFileName(file)));
        }

        var now = DateTimeOffset.UtcNow;

        // A crash while undeploying: one service's cancelled deploy had ended but its undeploy had not started; the
        // other's undeploy instance was recorded on the service but never stored.
        await using (var first = new DirectoryFactory(dataDir, workflowsDir, state))
        {
            first.CreateClient().Dispose();
            await using (var wf = await first.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync())
            {
                wf.Instances.Add(new InstanceRecord
                {
                    Id = "0000000000000000000000000000dead", DefinitionId = "opensourcellm", DefinitionVersion = 1,
                    Status = InstanceStatus.Cancelled, CorrelationId = "cancelled-1", Operator = "alice", CreatedAt = now, UpdatedAt = now,
                    StartedAt = now, FinishedAt = now, ErrorMessage = "the service is being undeployed",
                });
                await wf.SaveChangesAsync();
            }

            await using var cp = await first.Services.GetRequiredService<IDbContextFactory<ControlPlaneDbContext>>().CreateDbContextAsync();
            cp.Services.Add(Service("cancelled-1", ServiceState.Stopping, "0000000000000000000000000000dead", now));
            var unstarted = Service("unstarted-1", ServiceState.Stopping, "0000000000000000000000000000beef", now);
            unstarted.Operation = ServiceOperation.Undeploy;
            cp.Services.Add(unstarted);
            await cp.SaveChangesAsync();
        }

        await using var second = new DirectoryFactory(dataDir, workflowsDir, state);
        second.CreateClient().Dispose();
        var factory = second.Services.GetRequiredService<IDbContextFactory<ControlPlaneDbContext>>();
        var stopped = await Poll.UntilAsync(async () =>
        {
            await using var cp = await factory.CreateDbContextAsync();
            var all = await cp.Services.AsNoTracking().Where(s => s.Id == "cancelled-1" || s.Id == "unstarted-1").ToListAsync();
            return all.All(s => s.State == ServiceState.Stopped) ? all : null;
        }, "both undeploys to finish", TimeSpan.FromSeconds(30));

        await using var runs = await second.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        foreach (var service in stopped)
        {
            Assert.Equal(ServiceOperation.Undeploy, service.Operation);
            var instance = await runs.Instances.AsNoTracking().SingleAsync(i => i.Id == service.InstanceId);
            Assert.Equal("undeploy", instance.DefinitionId);
            Assert.Equal(InstanceStatus.Completed, instance.Status);
        }
    }

    public void Dispose() => _root.Dispose();

    private static ServiceRecord Service(string id, ServiceState state, string instanceId, DateTimeOffset at) => new()
    {
        Id = id, ModelName = id, State = state, InstanceId = instanceId, CreatedBy = "alice", CreatedAt = at, UpdatedAt = at,
        Desired = new() { ServiceId = id, ModelFile = "/models/x", Shimlet = "local", Pipeline = "opensourcellm", Replicas = 1, UpdatedAt = at, UpdatedBy = "alice" },
    };

    private sealed class DirectoryFactory(string dataDir, string workflowsDir, IReadOnlyList<KeyValuePair<string, string>> state) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ModelServeShim:DataDir", dataDir);
            builder.UseSetting("Workflows:Directory", workflowsDir);
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            foreach (var (key, value) in state)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
