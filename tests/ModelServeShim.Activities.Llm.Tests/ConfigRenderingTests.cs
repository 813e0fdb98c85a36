using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Models.Memory;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Activities.Llm.Tests;

public class ConfigRenderingTests
{
    private const string Type = ConfigRenderingActivity.TypeName;

    private static JsonObject Inputs(string modelPath, string format, int acceleratorCount = 0, string? runtime = null) => new()
    {
        ["serviceId"] = "sample-0001",
        ["modelName"] = "sample",
        ["modelPath"] = modelPath,
        ["format"] = format,
        ["runtime"] = runtime ?? "",
        ["contextLength"] = 2048,
        ["resources"] = new JsonObject
        {
            ["cpu"] = "4",
            ["memory"] = "16Gi",
            ["acceleratorType"] = acceleratorCount > 0 ? "NVIDIA H20" : null,
            ["acceleratorCount"] = acceleratorCount,
        },
        ["replicas"] = 2,
        ["namespace"] = "llm",
        ["labels"] = new JsonObject { ["team"] = "search" },
    };

    private static async Task<(InstanceRecord Instance, JsonObject Output, DeploymentSpec? Spec)> RenderAsync(LlmHarness h, JsonObject inputs)
    {
        await h.SaveSingleStepAsync("render", Type, inputs);
        var instance = await h.RunAsync("render");
        if (instance.Status != InstanceStatus.Completed)
        {
            return (instance, [], null);
        }

        var output = await h.GetOutputAsync(instance.Id, "step");
        return (instance, output, output["spec"].Deserialize<DeploymentSpec>(JsonSerializerOptions.Web));
    }

    [Fact]
    public async Task Gguf_OnLocalShimlet_ChoosesLlamaEmbedded_WithHostPathAndPortLeftForTheShimlet()
    {
        string server = Path.Combine(Path.GetTempPath(), $"mss-llama-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(server, "#!/bin/sh\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(server, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        try
        {
            await using var h = await LlmHarness.StartAsync(new Dictionary<string, string?> { ["Runtimes:LlamaServerPath"] = server });
            string file = await TestModels.WriteGgufAsync(h.ModelRoot);
            var inputs = Inputs(file, "gguf");
            inputs["shimlet"] = "local";

            var (instance, output, spec) = await RenderAsync(h, inputs);

            Assert.Equal(InstanceStatus.Completed, instance.Status);
            Assert.Equal("llama-embedded", (string?)output["runtime"]);
            Assert.NotNull(spec);
            Assert.Equal([server], spec.Command);
            Assert.Equal(0, spec.Port);
            Assert.Equal(
                ["--model", file, "--port", "{{ port }}", "--host", "127.0.0.1", "--alias", "sample", "--ctx-size", "2048", "--threads", "1"],
                spec.Args);
        }
        finally
        {
            File.Delete(server);
        }
    }

    [Fact]
    public async Task Gguf_OnDockerShimlet_ChoosesLlamaContainer_WithTheVersionedRuntimeImageAndTheModelInsideTheMount()
    {
        await using var h = await LlmHarness.StartAsync();
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);
        var inputs = Inputs(file, "gguf");
        inputs["shimlet"] = "docker";

        var (instance, output, spec) = await RenderAsync(h, inputs);

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal("llama-container", (string?)output["runtime"]);
        Assert.NotNull(spec);
        var version = typeof(RuntimeProfileCatalog).Assembly.GetName().Version!.ToString(3);
        Assert.Equal($"modelserveshim/llama-runtime:{version}", spec.Image);
        Assert.Empty(spec.Command);
        Assert.Equal(18080, spec.Port);
        Assert.Equal("/models", spec.ModelMountPath);
        Assert.Equal(h.ModelRoot, spec.ModelPath);
        Assert.Equal(["--model", $"/models/{Path.GetRelativePath(h.ModelRoot, file)}", "--alias", "sample", "--ctx-size", "2048", "--threads", "1"], spec.Args);
    }

    [Fact]
    public async Task Gguf_OnLocalShimlet_FollowsConfiguredShimletDefaults_AndOtherShimletsKeepTheFormatDefault()
    {
        await using var h = await LlmHarness.StartAsync(new Dictionary<string, string?> { ["Runtimes:ShimletDefaults:local:gguf"] = "llama-cpp" });
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);
        var local = Inputs(file, "gguf");
        local["shimlet"] = "local";
        var k8s = Inputs(file, "gguf");
        k8s["shimlet"] = "k8s";

        var (_, localOutput, _) = await RenderAsync(h, local);
        var (_, k8sOutput, _) = await RenderAsync(h, k8s);

        Assert.Equal("llama-cpp", (string?)localOutput["runtime"]);
        Assert.Equal("llama-cpp", (string?)k8sOutput["runtime"]);
    }

    [Fact]
    public async Task LlamaEmbedded_WhenTheServerIsMissing_FailsWithLlamaServerNotFound()
    {
        await using var h = await LlmHarness.StartAsync(new Dictionary<string, string?> { ["Runtimes:LlamaServerPath"] = "/nonexistent/model-serve-shim-llama" });
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);

        var (instance, _, _) = await RenderAsync(h, Inputs(file, "gguf", runtime: "llama-embedded"));

        Assert.Equal(InstanceStatus.Faulted, instance.Status);
        Assert.Equal(LlmErrorTypes.LlamaServerNotFound, instance.ErrorType);
    }

    [Fact]
    public async Task Gguf_ChoosesLlamaCpp_AndRendersEachValueAsOneArgument()
    {
        await using var h = await LlmHarness.StartAsync();
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);

        var (instance, output, spec) = await RenderAsync(h, Inputs(file, "gguf"));

        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal("llama-cpp", (string?)output["runtime"]);
        Assert.Equal("sample", (string?)output["servedModelName"]);
        Assert.NotNull(spec);
        Assert.Equal("ghcr.io/ggml-org/llama.cpp:server-b6700", spec.Image);
        Assert.Equal(["/app/llama-server"], spec.Command);
        Assert.Equal(
            ["--model", "/models/sample/sample-llama-f32.gguf", "--host", "0.0.0.0", "--port", "8080", "--ctx-size", "2048", "--alias", "sample", "-ngl", "0"],
            spec.Args);
        Assert.Equal(8080, spec.Port);
        Assert.Equal("/health", spec.HealthPath);
        Assert.Equal(h.ModelRoot, spec.ModelPath);
        Assert.Equal("/models", spec.ModelMountPath);
        Assert.Equal(new ResourceSpec("4", "16Gi", null, 0), spec.Resources);
        Assert.Equal(2, spec.Replicas);
        Assert.Equal("llm", spec.Namespace);
        Assert.Equal("search", spec.Labels["team"]);
        Assert.Equal("Done", (await h.GetStepsAsync(instance.Id)).Single().Outcome);
    }

    [Fact]
    public async Task Gguf_WithAccelerators_UsesTheAcceleratorImageAndOffloadsAllLayers()
    {
        await using var h = await LlmHarness.StartAsync();
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);

        var (_, _, spec) = await RenderAsync(h, Inputs(file, "gguf", acceleratorCount: 1));

        Assert.Equal("ghcr.io/ggml-org/llama.cpp:server-cuda-b6700", spec!.Image);
        Assert.Equal("999", spec.Args[spec.Args.ToList().IndexOf("-ngl") + 1]);
        Assert.Equal(new ResourceSpec("4", "16Gi", "NVIDIA H20", 1), spec.Resources);
    }

    [Fact]
    public async Task Safetensors_ChoosesVllm_WithTensorParallelEqualToAcceleratorCount()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await TestModels.WriteSafetensorsAsync(h.ModelRoot);

        var (_, output, spec) = await RenderAsync(h, Inputs(dir, "safetensors", acceleratorCount: 2));

        Assert.Equal("vllm", (string?)output["runtime"]);
        Assert.Equal("vllm/vllm-openai:v0.11.0", spec!.Image);
        Assert.Empty(spec.Command);
        Assert.Equal(
            ["--model", "/models/tiny-llama", "--served-model-name", "sample", "--tensor-parallel-size", "2", "--max-model-len", "2048", "--host", "0.0.0.0", "--port", "8000"],
            spec.Args);
        Assert.Equal(8000, spec.Port);
        Assert.DoesNotContain(spec.Args, a => a.Contains(' ', StringComparison.Ordinal) || a.Contains("{{", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Safetensors_WithSglang_RendersItsProfile()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await TestModels.WriteSafetensorsAsync(h.ModelRoot);

        var (_, output, spec) = await RenderAsync(h, Inputs(dir, "safetensors", acceleratorCount: 4, runtime: "sglang"));

        Assert.Equal("sglang", (string?)output["runtime"]);
        Assert.Equal(["python3", "-m", "sglang.launch_server"], spec!.Command);
        Assert.Equal("4", spec.Args[spec.Args.ToList().IndexOf("--tp") + 1]);
    }

    [Fact]
    public async Task RuntimeThatDoesNotServeTheFormat_FailsRuntimeFormatMismatch()
    {
        await using var h = await LlmHarness.StartAsync();
        string dir = await TestModels.WriteSafetensorsAsync(h.ModelRoot);

        var (instance, _, _) = await RenderAsync(h, Inputs(dir, "safetensors", runtime: "llama-cpp"));
        var step = (await h.GetStepsAsync(instance.Id)).Single();

        Assert.Equal(LlmErrorTypes.RuntimeFormatMismatch, step.ErrorType);
        Assert.False(step.Retryable);
        Assert.Contains("For safetensors use sglang or vllm", step.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRuntime_FailsUnknownRuntime()
    {
        await using var h = await LlmHarness.StartAsync();
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);

        var (instance, _, _) = await RenderAsync(h, Inputs(file, "gguf", runtime: "ollama"));

        Assert.Equal(LlmErrorTypes.UnknownRuntime, instance.ErrorType);
    }

    [Fact]
    public async Task ModelNameWithShellSyntax_IsRefused()
    {
        await using var h = await LlmHarness.StartAsync();
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);
        var inputs = Inputs(file, "gguf");
        inputs["modelName"] = "x; rm -rf /";

        var (instance, _, _) = await RenderAsync(h, inputs);

        Assert.Equal("InvalidInput", instance.ErrorType);
        Assert.Contains("modelName", instance.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfiguredProfiles_OverrideFieldsOfABuiltIn_AndAddNewRuntimes()
    {
        await using var h = await LlmHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Runtimes:Profiles:llama-cpp:Image"] = "registry.local/llama.cpp:b4000",
            ["Runtimes:Profiles:tgi:Formats:0"] = "safetensors",
            ["Runtimes:Profiles:tgi:Image"] = "ghcr.io/huggingface/text-generation-inference:3.0",
            ["Runtimes:Profiles:tgi:Port"] = "80",
            ["Runtimes:Profiles:tgi:Args:0"] = "--model-id",
            ["Runtimes:Profiles:tgi:Args:1"] = "{{ modelFile }}",
            ["Runtimes:Profiles:tgi:Args:2"] = "--num-shard",
            ["Runtimes:Profiles:tgi:Args:3"] = "{{ tensorParallelSize }}",
            ["Runtimes:Defaults:safetensors"] = "tgi",
        });
        string file = await TestModels.WriteGgufAsync(h.ModelRoot);
        string dir = await TestModels.WriteSafetensorsAsync(h.ModelRoot);

        var (_, _, gguf) = await RenderAsync(h, Inputs(file, "gguf"));
        var (_, _, safetensors) = await RenderAsync(h, Inputs(dir, "safetensors", acceleratorCount: 2));

        Assert.Equal("registry.local/llama.cpp:b4000", gguf!.Image);
        Assert.Equal("--alias", gguf.Args[8]);
        Assert.Equal("tgi", safetensors!.Runtime);
        Assert.Equal(["--model-id", "/models/tiny-llama", "--num-shard", "2"], safetensors.Args);
        Assert.Equal(80, safetensors.Port);
    }

    [Theory]
    [InlineData("Runtimes:Profiles:vllm:Args:0", "--port={{ port }}", "Runtimes:Profiles:vllm:Args:0")]
    [InlineData("Runtimes:Profiles:vllm:Args:0", "{{ secret }}", "unknown placeholder 'secret'")]
    [InlineData("Runtimes:Defaults:gguf", "vllm", "does not serve gguf")]
    [InlineData("Runtimes:Profiles:new:Image", "x", "needs Formats, Image and Port")]
    [InlineData("Models:Roots:0", "relative/models", "Models:Roots:0")]
    [InlineData("Accelerators:0:MemoryGb", "0", "Accelerators:0:Name is required")]
    [InlineData("Models:MemoryEstimate:PrefillChunkTokens", "0", "PrefillChunkTokens")]
    [InlineData("Models:MemoryEstimate:PrefillActivationBytesPerTokenPair", "-1", "PrefillActivationBytesPerTokenPair")]
    public void BadConfiguration_FailsAtStartNamingTheKey(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using var services = new ServiceCollection().AddLlmPipelineActivities(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<RuntimeOptions>>().Value;
            _ = services.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
            _ = services.GetRequiredService<IOptions<AcceleratorCatalogOptions>>().Value;
            _ = services.GetRequiredService<IOptions<MemoryEstimateOptions>>().Value;
        });

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
