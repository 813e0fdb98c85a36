using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelServeShim.Tests.Shared;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

/// <summary>The checksum-verification step in the real runtime, on real model files.</summary>
public sealed class ChecksumVerificationTests
{
    private const string Type = ChecksumVerificationActivity.TypeName;

    private static readonly string[] Shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

    /// <summary>A Hugging Face directory with two safetensors shards, an index, config and tokenizer, and a SHA256SUMS of all of them.</summary>
    private static async Task<string> WriteShardedAsync(string root, string name = "sharded")
    {
        string dir = await TestModels.WriteSafetensorsAsync(root, name);
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var first = new List<(string, long[])> { ("model.embed_tokens.weight", [320, 64]) };
        var second = new List<(string, long[])> { ("model.norm.weight", [64]), ("lm_head.weight", [320, 64]) };
        await SafetensorsTestFiles.WriteSafetensorsFileAsync(Path.Combine(dir, Shards[0]), first);
        await SafetensorsTestFiles.WriteSafetensorsFileAsync(Path.Combine(dir, Shards[1]), second);
        var map = first.Select(t => (t.Item1, Shards[0])).Concat(second.Select(t => (t.Item1, Shards[1]))).ToDictionary(t => t.Item1, t => t.Item2);
        await File.WriteAllTextAsync(Path.Combine(dir, "model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        await WriteManifestAsync(dir, [.. Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(f => f != "SHA256SUMS")!]);
        return dir;
    }

    private static async Task WriteManifestAsync(string dir, IEnumerable<string> files)
    {
        var text = new StringBuilder();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            text.Append(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(dir, file))))).Append("  ").Append(file).Append('\n');
        }

        await File.WriteAllTextAsync(Path.Combine(dir, "SHA256SUMS"), text.ToString());
    }

    private static async Task FlipByteAsync(string file, long fromEnd = 1)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = stream.Length - fromEnd;
        int b = stream.ReadByte();
        stream.Position = stream.Length - fromEnd;
        stream.WriteByte((byte)(b ^ 0x01));
    }

    [Fact]
    public async Task ShardedModel_AllMatch_ReportsEveryFile_ThenAFlippedByteInOneShard_FailsNamingThatShard()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded" });

        var good = await h.RunAsync("verify");
        var output = await h.GetOutputAsync(good.Id, "step");
        await FlipByteAsync(Path.Combine(dir, Shards[1]));
        var bad = await h.RunAsync("verify");

        Assert.Equal(InstanceStatus.Completed, good.Status);
        Assert.True((bool)output["verified"]!);
        Assert.Equal(Path.Combine(dir, "SHA256SUMS"), (string)output["manifest"]!);
        Assert.Equal(
            ["config.json", .. Shards, "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"],
            output["files"]!.AsArray().Select(f => (string)f!["file"]!).Order(StringComparer.Ordinal));
        Assert.Equal(Directory.EnumerateFiles(dir).Where(f => !f.EndsWith("SHA256SUMS", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length), (long)output["hashedBytes"]!);
        Assert.False((bool)output["cached"]!);

        Assert.Equal(InstanceStatus.Faulted, bad.Status);
        Assert.Equal(LlmErrorTypes.ChecksumMismatch, bad.ErrorType);
        Assert.StartsWith($"'{Shards[1]}' does not match its checksum", bad.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(Shards[0], bad.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnchangedModel_IsNotHashedAgain_ARewrittenFileIs_EvenWithItsModificationTimeRestored()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded" });

        var first = await h.GetOutputAsync((await h.RunAsync("verify")).Id, "step");
        var second = await h.GetOutputAsync((await h.RunAsync("verify")).Id, "step");
        string shard = Path.Combine(dir, Shards[0]);
        var mtime = File.GetLastWriteTimeUtc(shard);
        await FlipByteAsync(shard);
        File.SetLastWriteTimeUtc(shard, mtime); // same size, same mtime: only the change time and the content differ
        var third = await h.RunAsync("verify");

        Assert.True(h.ChecksumCache.Hits >= 6, $"the second run asked the cache for every file ({h.ChecksumCache.Hits} hits)");
        Assert.False((bool)first["cached"]!);
        Assert.True((long)first["hashedBytes"]! > 0);
        Assert.True((bool)second["cached"]!);
        Assert.Equal(0, (long)second["hashedBytes"]!);
        Assert.Equal(6, (int)second["cachedFiles"]!);
        Assert.All(second["files"]!.AsArray(), f => Assert.True((bool)f!["cached"]!));
        Assert.Equal(LlmErrorTypes.ChecksumMismatch, third.ErrorType);
        Assert.StartsWith($"'{Shards[0]}' does not match", third.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoManifest_FailsChecksumManifestMissing_SayingHowToCreateOne()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        File.Delete(Path.Combine(dir, "SHA256SUMS"));
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded" });

        var instance = await h.RunAsync("verify");

        Assert.Equal(LlmErrorTypes.ChecksumManifestMissing, instance.ErrorType);
        Assert.Contains($"'{dir}' has no SHA256SUMS or sha256sums.txt", instance.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("sha256sum <files> > SHA256SUMS", instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManifestWithoutAShard_FailsChecksumManifestIncomplete_NamingIt()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        await WriteManifestAsync(dir, ["config.json", Shards[0]]);
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded" });

        var instance = await h.RunAsync("verify");

        Assert.Equal(LlmErrorTypes.ChecksumManifestIncomplete, instance.ErrorType);
        Assert.Contains(Shards[1], instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyChecksumsFalse_SkipsWithoutReadingAnything()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        File.Delete(Path.Combine(dir, "SHA256SUMS"));
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded", ["verifyChecksums"] = false });

        var instance = await h.RunAsync("verify");
        var output = await h.GetOutputAsync(instance.Id, "step");

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.False((bool)output["verified"]!);
        Assert.Equal(0, (long)output["hashedBytes"]!);
    }

    [Fact]
    public async Task SingleGguf_InADirectoryWithOtherFiles_VerifiesOnlyItsOwnFile_InlineChecksumsToo()
    {
        await using var h = await LlmHarness.StartAsync();
        string gguf = await TestModels.WriteGgufAsync(h.ModelRoot);
        string dir = Path.GetDirectoryName(gguf)!;
        await File.WriteAllTextAsync(Path.Combine(dir, "other.gguf"), "another quantization, not this model");
        await WriteManifestAsync(dir, [Path.GetFileName(gguf), "other.gguf"]);
        await File.AppendAllTextAsync(Path.Combine(dir, "other.gguf"), "changed");
        string sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(gguf)));
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sample/sample-llama-f32.gguf" });
        await h.SaveSingleStepAsync("inline", Type, new JsonObject
        {
            ["modelFile"] = "sample/sample-llama-f32.gguf",
            ["checksums"] = new JsonObject { [Path.GetFileName(gguf)] = new string('0', 64) },
        });

        var fromManifest = await h.RunAsync("verify");
        var inline = await h.RunAsync("inline");

        Assert.Equal(InstanceStatus.Completed, fromManifest.Status);
        var files = (await h.GetOutputAsync(fromManifest.Id, "step"))["files"]!.AsArray();
        Assert.Equal(sha, (string)Assert.Single(files)!["sha256"]!);
        Assert.Equal(LlmErrorTypes.ChecksumMismatch, inline.ErrorType);
        Assert.Contains("(inline)", inline.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManifestEntryLinkingOutsideTheModelRoots_FailsPathOutsideModelRoot()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await WriteShardedAsync(h.ModelRoot);
        var outside = Path.Combine(h.Directory, "outside.txt");
        await File.WriteAllTextAsync(outside, "secret");
        File.CreateSymbolicLink(Path.Combine(dir, "notes.txt"), outside);
        await WriteManifestAsync(dir, [.. Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(f => f != "SHA256SUMS")!]);
        await h.SaveSingleStepAsync("verify", Type, new JsonObject { ["modelFile"] = "sharded" });

        var instance = await h.RunAsync("verify");

        Assert.Equal(LlmErrorTypes.PathOutsideModelRoot, instance.ErrorType);
    }
}
