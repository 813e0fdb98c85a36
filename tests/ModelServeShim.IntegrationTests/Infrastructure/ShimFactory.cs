using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ModelServeShim.IntegrationTests.Infrastructure;

/// <summary>
/// The real host in memory (environment <c>Testing</c>: no port is bound) with its own data and workflows
/// folders. Used as a class fixture, so every test class gets fresh state.
/// </summary>
public class ShimFactory : WebApplicationFactory<Program>
{
    private readonly TempDirectory _root = new("mss-it");

    public ShimFactory()
    {
        DataDir = _root.Sub("data");
        WorkflowsDir = _root.Sub("workflows");
    }

    public string DataDir { get; }

    /// <summary>The watched workflows folder (exists before the host starts, so it is watched).</summary>
    public string WorkflowsDir { get; }

    /// <summary>Extra configuration for derived factories.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> Settings => [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Testing");
        builder.UseSetting("ModelServeShim:DataDir", DataDir);
        builder.UseSetting("Workflows:Directory", WorkflowsDir);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _root.Dispose();
        }
    }
}
