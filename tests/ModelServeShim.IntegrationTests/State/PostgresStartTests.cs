using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.CrashResume;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.Testing.Postgres;
using Xunit.Abstractions;

namespace ModelServeShim.IntegrationTests.State;

/// <summary>
/// The real binary started on PostgreSQL (<c>--database=postgres</c>): the password reaches the server (the test cluster
/// requires SCRAM) but no output line; an unreachable database, a wrong password and a password in the connection
/// string each stop the start with a message that says what to fix.
/// </summary>
[Collection(nameof(CrashResumeCollection))]
public sealed class PostgresStartTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _root = new("mss-pg-start");
    private readonly List<ShimProcess> _processes = [];

    [Theory]
    [InlineData("file")]
    [InlineData("environment")]
    public async Task Start_PasswordFromFileOrEnvironment_RunsAPipeline_AndThePasswordIsInNoOutputLine(string source)
    {
        var cluster = PostgresCluster.Shared;
        var port = ShimProcess.FreePort();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var environment = source == "environment" ? new Dictionary<string, string> { ["State__Password"] = cluster.Password } : [];
        string[] password = source == "file" ? [$"--State:PasswordFile={PasswordFile(cluster.Password)}"] : [];
        var server = Start(port, environment, ["--database=postgres", $"--State:ConnectionString={cluster.CreateDatabase("start")}", .. password,
            "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft.EntityFrameworkCore=Trace", "--Logging:LogLevel:Npgsql=Trace"]);

        await server.WaitUntilHealthyAsync(client, StartupTimeout);
        await client.SaveDefinitionAsync("""
            { "definitionId": "hello", "root": { "type": "Flowchart", "activities": [ { "id": "a", "type": "ModelServeShim.Log", "inputs": { "message": "hi" } } ] } }
            """);
        var id = await client.ExecuteAsync("hello", new JsonObject());
        var detail = await client.WaitForStatusAsync(id, "Completed", TimeSpan.FromSeconds(30));
        server.Kill();

        Assert.Equal("Completed", detail.Status());
        Assert.Contains("state in PostgreSQL database", server.Output, StringComparison.Ordinal);
        Assert.Contains("Executed DbCommand", server.Output, StringComparison.Ordinal); // Trace logging was on: there were lines to leak into
        Assert.DoesNotContain(cluster.Password, ServerLines(server), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Start_DatabaseUnreachable_RetriesWithBackoff_ThenExits3NamingHostAndPortButNotThePassword()
    {
        var deadPort = ShimProcess.FreePort();
        var password = "s3cret-" + Guid.NewGuid().ToString("N");
        var server = Start(ShimProcess.FreePort(), "--database=postgres", $"--State:ConnectionString=Host=127.0.0.1;Port={deadPort};Database=shim;Username=shim",
            $"--State:PasswordFile={PasswordFile(password)}", "--State:StartTimeout=00:00:04");

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(3, exitCode);
        Assert.Contains($"Cannot reach the PostgreSQL database shim at 127.0.0.1:{deadPort} as shim after", server.Output, StringComparison.Ordinal);
        Assert.Contains("(State:StartTimeout)", server.Output, StringComparison.Ordinal);
        Assert.Contains("attempt 2", server.Output, StringComparison.Ordinal); // it retried before giving up
        Assert.DoesNotContain(password, ServerLines(server), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WrongPassword_ExitsAtOnceNamingTheUser()
    {
        var cluster = PostgresCluster.Shared;
        var server = Start(ShimProcess.FreePort(), "--database=postgres", $"--State:ConnectionString={cluster.ConnectionString("postgres")}",
            $"--State:PasswordFile={PasswordFile("not-the-password")}", "--State:StartTimeout=00:01:00");

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30)); // well before the minute it would wait for a transient error

        Assert.Equal(3, exitCode);
        Assert.Contains("password authentication failed for user \"postgres\"", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ServerLines(server), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PasswordInTheConnectionString_IsRefusedWithExit2()
    {
        var server = Start(ShimProcess.FreePort(), "--database=postgres", "--State:ConnectionString=Host=127.0.0.1;Database=shim;Username=shim;Password=hunter2");

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains("State:ConnectionString must not contain the password", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ServerLines(server), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- server pid {process.Id} output ---\n{process.Output}");
            process.Dispose();
        }

        _root.Dispose();
    }

    /// <summary>What the server wrote (the test's own "[test] started …" line echoes the command line, so it is left out).</summary>
    private static string ServerLines(ShimProcess server) =>
        string.Join('\n', server.Output.Split('\n').Where(l => !l.StartsWith("[test]", StringComparison.Ordinal)));

    private string PasswordFile(string password)
    {
        var path = Path.Combine(_root.Sub("secrets"), Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, password + "\n"); // a mounted secret usually ends with a newline
        return path;
    }

    private ShimProcess Start(int port, params string[] args) => Start(port, new Dictionary<string, string>(), args);

    private ShimProcess Start(int port, Dictionary<string, string> environment, string[] args)
    {
        var process = ShimProcess.Start(port, _root.Sub("data"), _root.Sub("workflows"), environment, args);
        _processes.Add(process);
        return process;
    }
}
