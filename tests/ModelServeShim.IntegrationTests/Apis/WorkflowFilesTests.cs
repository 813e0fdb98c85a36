using System.Net;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.Apis;

public sealed class WorkflowFilesTests(ShimFactory factory) : WorkflowFilesTestsBase(factory), IClassFixture<ShimFactory>;

/// <summary>The same tests with the state in PostgreSQL (a database of the test cluster).</summary>
public sealed class WorkflowFilesPostgresTests(PostgresShimFactory factory) : WorkflowFilesTestsBase(factory), IClassFixture<PostgresShimFactory>;

public abstract class WorkflowFilesTestsBase(ShimFactory factory)
{
    private const string Dropped = """
        {
          "definitionId": "dropped-in",
          "description": "Written to the watched folder while the server runs.",
          "root": { "type": "Flowchart", "activities": [ { "id": "hi", "type": "ModelServeShim.Log", "inputs": { "message": "from a file" } } ] }
        }
        """;

    private const string Broken = """
        {
          "definitionId": "broken-file",
          "root": { "type": "Flowchart", "activities": [ { "id": "wait", "type": "ModelServeShim.Delay", "inputs": { "duration": 5 } } ] }
        }
        """;

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task FileDroppedIntoWatchedFolder_IsLoadedAndRuns()
    {
        await WriteAtomicallyAsync("dropped-in.json", Dropped);

        var definition = await Poll.UntilAsync(
            async () =>
            {
                var list = (await (await _client.GetAsync("/api/v1/workflow-definitions")).ReadJsonAsync()).AsArray();
                return list.FirstOrDefault(d => d!["definitionId"]!.GetValue<string>() == "dropped-in");
            },
            "the dropped file to be loaded");

        Assert.Equal("file:dropped-in.json", definition["source"]!.GetValue<string>());
        Assert.Equal("file", definition["createdBy"]!.GetValue<string>());
        var id = await _client.ExecuteAsync("dropped-in");
        await _client.WaitForStatusAsync(id, "Completed");

        var files = await FilesAsync();
        var status = files.Single(f => f!["file"]!.GetValue<string>() == "dropped-in.json")!;
        Assert.Empty(status["errors"]!.AsArray());
        Assert.Equal(1, status["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task InvalidFileDroppedIntoWatchedFolder_IsReportedWithErrors()
    {
        await WriteAtomicallyAsync("broken.json", Broken);

        var status = await Poll.UntilAsync(
            async () => (await FilesAsync()).FirstOrDefault(f => f!["file"]!.GetValue<string>() == "broken.json"),
            "the invalid file to be reported in /api/v1/workflow-files");

        var error = Assert.Single(status["errors"]!.AsArray())!;
        Assert.Equal("$.root.activities[0].inputs.duration", error["path"]!.GetValue<string>());
        Assert.Null(status["version"]);
        await _client.GetAsync("/api/v1/workflow-definitions/broken-file").ExpectAsync(HttpStatusCode.NotFound);
    }

    private async Task<JsonArray> FilesAsync()
    {
        var body = await (await _client.GetAsync("/api/v1/workflow-files").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal(Path.GetFullPath(factory.WorkflowsDir), body["directory"]!.GetValue<string>());
        return body["files"]!.AsArray();
    }

    /// <summary>Writes next to the target and renames, as editors and deploy tools do, so the loader never sees half a file.</summary>
    private async Task WriteAtomicallyAsync(string name, string json)
    {
        // The host starts lazily: make sure it runs (and watches) before the file appears.
        await _client.GetAsync("/healthz").ExpectAsync(HttpStatusCode.OK);
        var temp = Path.Combine(factory.WorkflowsDir, name + ".tmp");
        await File.WriteAllTextAsync(temp, json);
        File.Move(temp, Path.Combine(factory.WorkflowsDir, name));
    }
}
