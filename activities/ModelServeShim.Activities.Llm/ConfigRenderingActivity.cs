using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Models;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>config-rendering</c> step: picks a runtime profile for the model's format and renders a
/// shimlet-neutral <see cref="DeploymentSpec"/>. Arguments are rendered element by element from the profile's
/// templates: a value always becomes one whole argument, never part of a shell line. Pure: the same inputs
/// give the same spec. With <c>dryRun</c> it fires <c>DryRun</c> instead of <c>Done</c>, so a pipeline can stop here.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Config rendering",
    Description = "Chooses the serving runtime for the model's format and renders the deployment spec (image, argv, port, resources).")]
[Outcomes(DryRunOutcome)]
[Output("spec", "object", Description = "The DeploymentSpec (JSON web naming).", Kind = OutputKinds.DeploymentSpec)]
[Output("dryRun", "boolean", Description = "True when rendering only (the DryRun port fired): nothing is deployed.", Kind = OutputKinds.DryRun)]
[Output("servedModelName", "string", Description = "The model name clients send to /v1/chat/completions.")]
[Output("runtime", "string", Description = "The runtime profile used.")]
public sealed partial class ConfigRenderingActivity(
    RuntimeProfileCatalog runtimes,
    ModelPathResolver paths,
    IOptions<RuntimeOptions> options) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.ConfigRendering";

    /// <summary>The port fired instead of <c>Done</c> when <see cref="DryRun"/> is true.</summary>
    public const string DryRunOutcome = "DryRun";

    /// <summary>The service id.</summary>
    [Input(Required = true, Description = "The service id (modelName-uuid).")]
    public string ServiceId { get; set; } = "";

    /// <summary>The model name.</summary>
    [Input(Required = true, Description = "The model name; also the served model name.")]
    public string ModelName { get; set; } = "";

    /// <summary>The canonical model path.</summary>
    [Input(Required = true, Description = "The canonical model path from model-validation.", UiHint = "path")]
    public string ModelPath { get; set; } = "";

    /// <summary>The model format.</summary>
    [Input(Required = true, Description = "gguf or safetensors (model-validation's format).")]
    public string Format { get; set; } = "";

    /// <summary>The runtime profile; empty chooses by format.</summary>
    [Input(Description = "Runtime profile name (llama-cpp, vllm, sglang, or a configured one); empty chooses by format.")]
    public string? Runtime { get; set; }

    /// <summary>The shimlet that will run the spec; picks the runtime through <c>Runtimes:ShimletDefaults</c>.</summary>
    [Input(Description = "The shimlet that will deploy the spec (local, k8s, …); chooses the default runtime per shimlet (Runtimes:ShimletDefaults).")]
    public string? Shimlet { get; set; }

    /// <summary>The context length.</summary>
    [Input(Required = true, Description = "Tokens per sequence (model-validation's contextLength).")]
    public int ContextLength { get; set; }

    /// <summary>Resources per replica.</summary>
    [Input(Required = true, Description = "Per replica: { cpu, memory, acceleratorType, acceleratorCount }.", UiHint = "json")]
    public JsonObject Resources { get; set; } = [];

    /// <summary>Replicas.</summary>
    [Input(DefaultJson = "1", Description = "Desired replicas.")]
    public int Replicas { get; set; } = 1;

    /// <summary>The namespace; empty means the shimlet's default.</summary>
    [Input(Description = "Namespace (or the environment's equivalent); empty: the shimlet's default.")]
    public string? Namespace { get; set; }

    /// <summary>Extra labels.</summary>
    [Input(Description = "Extra labels for the service's resources.", UiHint = "json")]
    public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>Stop after rendering.</summary>
    [Input(DefaultJson = "false", Description = "Render only: fire the DryRun port instead of Done.")]
    public bool DryRun { get; set; }

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        string format = Format.Trim().ToLowerInvariant();
        context.Log(LogLevel.Information, "Rendering deployment config", new Dictionary<string, object?>
        {
            ["serviceId"] = ServiceId,
            ["modelName"] = ModelName,
            ["modelPath"] = ModelPath,
            ["format"] = format,
            ["runtime"] = Runtime,
            ["shimlet"] = Shimlet,
            ["contextLength"] = ContextLength,
            ["replicas"] = Replicas,
            ["namespace"] = Namespace,
            ["dryRun"] = DryRun,
        });
        CheckInputs(context);
        var resources = ReadResources(context);
        var profile = ChooseProfile(context, format);
        var (root, canonicalModelPath, containerModelPath) = Locate(context);

        string servedModelName = ModelName;
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["modelFile"] = profile.HostPaths ? canonicalModelPath : containerModelPath,
            // Port 0: the environment picks one per replica and fills the placeholder itself (the local shimlet does).
            ["port"] = profile.Port == 0 ? "{{ port }}" : profile.Port.ToString(CultureInfo.InvariantCulture),
            ["contextLength"] = ContextLength.ToString(CultureInfo.InvariantCulture),
            ["servedModelName"] = servedModelName,
            ["modelName"] = ModelName,
            ["serviceId"] = ServiceId,
            ["format"] = format,
            ["acceleratorCount"] = resources.AcceleratorCount.ToString(CultureInfo.InvariantCulture),
            ["tensorParallelSize"] = Math.Max(1, resources.AcceleratorCount).ToString(CultureInfo.InvariantCulture),
            ["gpuLayers"] = resources.AcceleratorCount > 0 ? "999" : "0",
        };

        var spec = new DeploymentSpec
        {
            ServiceId = ServiceId,
            ModelName = ModelName,
            Namespace = string.IsNullOrWhiteSpace(Namespace) ? null : Namespace,
            Labels = Labels is null ? new Dictionary<string, string>() : new SortedDictionary<string, string>(Labels.ToDictionary(), StringComparer.Ordinal),
            Runtime = profile.Name,
            Image = resources.AcceleratorCount > 0 ? profile.AcceleratorImage : profile.Image,
            Command = ResolveCommand(context, profile),
            Args = RuntimeProfileCatalog.Render(profile.Args, values),
            Environment = new SortedDictionary<string, string>(
                profile.Environment.ToDictionary(e => e.Key, e => RuntimeProfileCatalog.RenderOne(e.Value, values)), StringComparer.Ordinal),
            Port = profile.Port,
            HealthPath = profile.HealthPath,
            Resources = resources,
            Replicas = Replicas,
            ModelPath = root,
            ModelMountPath = options.Value.ModelMountPath.TrimEnd('/'),
            StartupTimeout = profile.StartupTimeout,
        };

        context.SetOutput("spec", JsonSerializer.SerializeToNode(spec, JsonSerializerOptions.Web));
        context.SetOutput("servedModelName", servedModelName);
        context.SetOutput("runtime", profile.Name);
        context.SetOutput("dryRun", DryRun);
        context.Log(LogLevel.Information, $"Rendered {profile.Name} spec ({spec.Image})", new Dictionary<string, object?>
        {
            ["runtime"] = profile.Name,
            ["image"] = spec.Image,
            ["command"] = spec.Command,
            ["args"] = spec.Args,
            ["port"] = spec.Port,
            ["modelMount"] = profile.HostPaths ? null : $"{root} -> {spec.ModelMountPath}",
            ["durationMs"] = StepJournal.ElapsedMs(context, started),
        });

        if (DryRun)
        {
            context.Log(LogLevel.Information, "Dry run: stopping after config rendering; nothing is deployed");
            return ValueTask.FromResult(ActivityResult.Port(DryRunOutcome));
        }

        return ValueTask.FromResult(ActivityResult.Done);
    }

    private void CheckInputs(ActivityContext context)
    {
        if (!Name().IsMatch(ServiceId) || ServiceId.Length > 253)
        {
            throw StepJournal.InvalidInput(context, "serviceId", $"'{ServiceId}' must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253).");
        }

        if (!Name().IsMatch(ModelName) || ModelName.Length > 63)
        {
            throw StepJournal.InvalidInput(context, "modelName", $"'{ModelName}' must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 63).");
        }

        if (ContextLength < 1)
        {
            throw StepJournal.InvalidInput(context, "contextLength", $"{ContextLength} must be positive.");
        }

        if (Replicas < 0)
        {
            throw StepJournal.InvalidInput(context, "replicas", $"{Replicas} is negative.");
        }
    }

    private ResourceSpec ReadResources(ActivityContext context)
    {
        string? Text(string name)
        {
            var node = Resources[name];
            return node is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number
                ? (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString())
                : node is null ? null
                : throw StepJournal.InvalidInput(context, $"resources.{name}", $"expected a string, got {node.ToJsonString()}.");
        }

        string cpu = Text("cpu") is { Length: > 0 } c ? c : options.Value.DefaultCpu;
        string memory = Text("memory") is { Length: > 0 } m ? m : options.Value.DefaultMemory;
        string? acceleratorType = Text("acceleratorType") is { Length: > 0 } a ? a : null;
        int count = 0;
        if (Resources["acceleratorCount"] is { } countNode)
        {
            if (countNode is not JsonValue cv || !int.TryParse(cv.GetValueKind() == JsonValueKind.String ? cv.GetValue<string>() : cv.ToJsonString(), NumberStyles.None, CultureInfo.InvariantCulture, out count))
            {
                throw StepJournal.InvalidInput(context, "resources.acceleratorCount", $"expected a whole number ≥ 0, got {countNode.ToJsonString()}.");
            }
        }

        if (count > 0 && acceleratorType is null)
        {
            throw StepJournal.InvalidInput(context, "resources.acceleratorType", $"required when acceleratorCount is {count}.");
        }

        return new ResourceSpec(cpu, memory, acceleratorType, count);
    }

    private RuntimeProfile ChooseProfile(ActivityContext context, string format)
    {
        if (string.IsNullOrWhiteSpace(Runtime))
        {
            return runtimes.DefaultFor(format, Shimlet?.Trim()) ?? throw StepJournal.Fail(context, LlmErrorTypes.RuntimeFormatMismatch,
                $"No runtime profile serves format '{format}'. Profiles: {Describe(runtimes.Profiles)}. Add one under '{RuntimeOptions.SectionName}:Profiles'.",
                retryable: false, new Dictionary<string, object?> { ["format"] = format });
        }

        if (!runtimes.TryGet(Runtime.Trim(), out var profile))
        {
            throw StepJournal.Fail(context, LlmErrorTypes.UnknownRuntime,
                $"Unknown runtime '{Runtime}'. Profiles: {Describe(runtimes.Profiles)}. Leave runtime empty to choose by format, or add a profile under '{RuntimeOptions.SectionName}:Profiles'.",
                retryable: false, new Dictionary<string, object?> { ["runtime"] = Runtime, ["known"] = runtimes.Profiles.Select(p => p.Name).ToList() });
        }

        if (!profile.Accepts(format))
        {
            var serving = runtimes.Profiles.Where(p => p.Accepts(format)).Select(p => p.Name).ToList();
            throw StepJournal.Fail(context, LlmErrorTypes.RuntimeFormatMismatch,
                $"Runtime '{profile.Name}' serves {string.Join(", ", profile.Formats)}, not {format}. For {format} use {(serving.Count > 0 ? string.Join(" or ", serving) : "a profile that serves it (none is configured)")}, or leave runtime empty.",
                retryable: false, new Dictionary<string, object?> { ["runtime"] = profile.Name, ["format"] = format, ["formats"] = profile.Formats, ["servingFormat"] = serving });
        }

        return profile;
    }

    /// <summary>The command with <see cref="RuntimeProfile.LlamaServerPlaceholder"/> replaced by the embedded runtime's location.</summary>
    private IReadOnlyList<string> ResolveCommand(ActivityContext context, RuntimeProfile profile)
    {
        if (profile.Command.Count == 0 || profile.Command[0] != RuntimeProfile.LlamaServerPlaceholder)
        {
            return profile.Command;
        }

        var located = LlamaServerLocator.TryLocate(options.Value.LlamaServerPath) ?? throw StepJournal.Fail(context, LlmErrorTypes.LlamaServerNotFound,
            $"Runtime '{profile.Name}' runs {LlamaServerLocator.ExecutableName}, which was not found (looked at {LlamaServerLocator.Describe(options.Value.LlamaServerPath)}). Build src/ModelServeShim.LlamaServer, set {RuntimeOptions.SectionName}:LlamaServerPath, or choose another runtime.",
            retryable: false, new Dictionary<string, object?> { ["runtime"] = profile.Name });
        return [.. located, .. profile.Command.Skip(1)];
    }

    /// <summary>The model root holding the model (mounted into containers), the canonical host path, and the model's path inside the container.</summary>
    private (string Root, string CanonicalPath, string ContainerPath) Locate(ActivityContext context)
    {
        string canonical;
        try
        {
            canonical = paths.Resolve(ModelPath, mustExist: false);
        }
        catch (ModelFormatException e)
        {
            throw StepJournal.Fail(context, ModelValidationActivity.ErrorTypeFor(e.ErrorCode), e.Message, retryable: false,
                new Dictionary<string, object?> { ["path"] = e.Path }, e);
        }

        // The innermost root that contains the model (roots may nest).
        string root = paths.Roots
            .Select(r => new ModelPathResolver([r]).Resolve(r, mustExist: false))
            .Where(r => canonical == r || canonical.StartsWith(Path.TrimEndingDirectorySeparator(r) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .OrderByDescending(r => r.Length)
            .First();
        string relative = Path.GetRelativePath(root, canonical).Replace(Path.DirectorySeparatorChar, '/');
        string mount = options.Value.ModelMountPath.TrimEnd('/');
        return (root, canonical, relative == "." ? mount : $"{mount}/{relative}");
    }

    private static string Describe(IEnumerable<RuntimeProfile> profiles) =>
        string.Join("; ", profiles.Select(p => $"{p.Name} ({string.Join(", ", p.Formats)})"));

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
