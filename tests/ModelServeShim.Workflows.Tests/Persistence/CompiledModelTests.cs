using ModelServeShim.Testing.EfCore;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Tests.Persistence;

/// <summary>The committed SQLite compiled model of <see cref="WorkflowDbContext"/> is what the current model generates.</summary>
public sealed class CompiledModelTests
{
    [Fact]
    public void CompiledModel_MatchesTheContextsModel_ElseRunScriptsEfCompiledModels()
    {
        using var context = new DesignTimeFactory().CreateDbContext([]);

        var differences = CompiledModelCheck.Differences(
            context,
            "ModelServeShim.Workflows.Persistence.CompiledModel",
            Path.Combine(CompiledModelCheck.RepositoryRoot(), "src", "ModelServeShim.Workflows", "Persistence", "CompiledModel"));

        Assert.True(differences.Count == 0, "The compiled model is stale; run bash scripts/ef-compiled-models.sh. " + string.Join("; ", differences));
    }
}
