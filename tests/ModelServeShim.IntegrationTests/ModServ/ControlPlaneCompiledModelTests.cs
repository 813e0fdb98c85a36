using ModelServeShim.ControlPlane;
using ModelServeShim.Testing.EfCore;

namespace ModelServeShim.IntegrationTests.ModServ;

/// <summary>The committed SQLite compiled model of <see cref="ControlPlaneDbContext"/> is what the current model generates.</summary>
public sealed class ControlPlaneCompiledModelTests
{
    [Fact]
    public void CompiledModel_MatchesTheContextsModel_ElseRunScriptsEfCompiledModels()
    {
        using var context = new ControlPlaneDesignTimeFactory().CreateDbContext([]);

        var differences = CompiledModelCheck.Differences(
            context,
            "ModelServeShim.ControlPlane.CompiledModel",
            Path.Combine(CompiledModelCheck.RepositoryRoot(), "src", "ModelServeShim", "ControlPlane", "CompiledModel"));

        Assert.True(differences.Count == 0, "The compiled model is stale; run bash scripts/ef-compiled-models.sh. " + string.Join("; ", differences));
    }
}
