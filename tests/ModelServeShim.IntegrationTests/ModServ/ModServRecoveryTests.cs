using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>After a restart the control plane reconciles services with what their pipelines did meanwhile.</summary>
public sealed class ModServRecoveryTests : IDisposable
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
        await using (var first = new DirectoryFactory(dataDir, workflowsDir))
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

        await using var second = new DirectoryFactory(dataDir, workflowsDir);
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

    public void Dispose() => _root.Dispose();

    private static ServiceRecord Service(string id, ServiceState state, string instanceId, DateTimeOffset at) => new()
    {
        Id = id, ModelName = id, State = state, InstanceId = instanceId, CreatedBy = "alice", CreatedAt = at, UpdatedAt = at,
        Desired = new() { ServiceId = id, ModelFile = "/models/x", Shimlet = "local", Pipeline = "opensourcellm", Replicas = 1, UpdatedAt = at, UpdatedBy = "alice" },
    };

    private sealed class DirectoryFactory(string dataDir, string workflowsDir) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ModelServeShim:DataDir", dataDir);
            builder.UseSetting("Workflows:Directory", workflowsDir);
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }
    }
}
