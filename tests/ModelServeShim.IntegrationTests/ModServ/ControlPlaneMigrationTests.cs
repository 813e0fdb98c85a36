using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ModelServeShim.ControlPlane;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>A database written before the desired-state record migrates with its services' facts intact.</summary>
public sealed class ControlPlaneMigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new("mss-cp-migration");

    [Fact]
    public async Task Migrate_FromTheInitialSchema_MovesTheRequestIntoTheDesiredStateWithTheScaledReplicas()
    {
        var path = Path.Combine(_dir.Path, "old.db");
        var builder = new DbContextOptionsBuilder<ControlPlaneDbContext>();
        ControlPlaneDbContext.UseSqlite(builder, path);
        await using (var context = new ControlPlaneDbContext(builder.Options))
        {
            await context.GetService<IMigrator>().MigrateAsync("20261124201415_InitialControlPlane");
            // A service deployed with 1 replica and scaled to 3 (the column) before the desired state existed.
            await context.Database.ExecuteSqlRawAsync("""
                INSERT INTO model_services (Id, ModelName, ModelFile, State, Shimlet, Pipeline, Namespace, RequestJson, Replicas,
                    AcceleratorType, AcceleratorCount, InstanceId, Endpoint, CreatedBy, CreatedAt, UpdatedAt, Revision)
                VALUES ('old-1', 'old', 'sample/old.gguf', 'Running', 'local', 'opensourcellm', 'models',
                    {0},
                    3, NULL, 0, 'instance-1', 'http://127.0.0.1:1/', 'alice', 0, 0, 4);
                """, """{"modelName":"old","modelFile":"sample/old.gguf","resourceRequirements":{"acceleratorType":null,"acceleratorCount":0,"cpu":"2","memory":"4Gi","contextLength":null,"concurrentSequences":null},"replicaCount":1,"shimlet":null,"pipeline":null,"runtime":"llama-embedded","namespace":"models","labels":{"team":"a"},"dryRun":null,"quantization":null,"verifyChecksums":true}""");
        }

        await using (var context = new ControlPlaneDbContext(builder.Options))
        {
            await context.Database.MigrateAsync();
            var service = await context.Services.AsNoTracking().SingleAsync(s => s.Id == "old-1");
            var change = await context.DesiredStateChanges.AsNoTracking().SingleAsync(c => c.ServiceId == "old-1");

            Assert.Equal(3, service.Desired.Replicas);
            Assert.Equal("sample/old.gguf", service.Desired.ModelFile);
            Assert.Equal("local", service.Desired.Shimlet);
            Assert.Equal("opensourcellm", service.Desired.Pipeline);
            Assert.Equal("models", service.Desired.Namespace);
            Assert.Equal("llama-embedded", service.Desired.Runtime);
            Assert.Equal("4Gi", service.Desired.Resources.Memory);
            Assert.Equal("a", service.Desired.Labels!["team"]);
            Assert.True(service.Desired.VerifyChecksums);
            Assert.Null(service.Desired.DryRun);
            Assert.Equal(ServiceOperation.Deploy, service.Operation);
            Assert.Equal("instance-1", service.DeployInstanceId);
            Assert.Equal("alice", change.Operator);
        }

        SqliteConnection.ClearAllPools();
    }

    public void Dispose() => _dir.Dispose();
}
