using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ModelServeShim.Activities.Llm;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.ControlPlane;

/// <summary>The brief's deploy body, plus optional shimlet, pipeline, runtime, namespace, labels and dryRun.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record DeployRequest
{
    /// <summary>The model name: a DNS-1123 label; it names the service and its resources.</summary>
    public string? ModelName { get; init; }

    /// <summary>The model file or directory, inside a configured model root (default <c>/models</c>).</summary>
    public string? ModelFile { get; init; }

    /// <summary>Resources per replica.</summary>
    public ResourceRequirements? ResourceRequirements { get; init; }

    /// <summary>Replicas (default 1).</summary>
    public int? ReplicaCount { get; init; }

    /// <summary>The environment (default: the server's <c>--shimlet</c>).</summary>
    public string? Shimlet { get; init; }

    /// <summary>The pipeline (default: the server's <c>--pipeline</c>).</summary>
    public string? Pipeline { get; init; }

    /// <summary>A serving runtime profile (default: chosen by model format).</summary>
    public string? Runtime { get; init; }

    /// <summary>The namespace, for environments that have them.</summary>
    public string? Namespace { get; init; }

    /// <summary>Extra labels for the service's resources.</summary>
    public Dictionary<string, string>? Labels { get; init; }

    /// <summary>Render the deployment without applying it.</summary>
    public bool? DryRun { get; init; }

    /// <summary>How to quantize the model, for pipelines that declare a <c>quantization</c> input (<c>quant-llm</c>).</summary>
    public QuantizationRequest? Quantization { get; init; }

    /// <summary>Verify the model's files against its SHA-256 manifest before deploying (default false).</summary>
    public bool? VerifyChecksums { get; init; }

    /// <summary>
    /// The SHA-256 of the model's files (path relative to the model directory → 64 hex digits), for pipelines that
    /// declare a <c>checksums</c> input (privatellm's checksum-verification uses them instead of the manifest next to the model).
    /// </summary>
    public Dictionary<string, string>? Checksums { get; init; }

    /// <summary>
    /// The optional top-level fields this request sets, by their JSON names, which are the names of the pipeline inputs
    /// that take them. Derived from the request's own serialization, so a field added to the request is covered
    /// without a list to keep in step. A pipeline that does not declare the input cannot honour the field, so the
    /// request is refused rather than the field ignored.
    /// </summary>
    public IEnumerable<string> OptionalFieldsSet() =>
        JsonSerializer.SerializeToNode(this, DeployRequestValidator.JsonWithoutNulls)!.AsObject()
            .Select(p => p.Key)
            .Except(DeployRequestValidator.FieldsEveryPipelineTakes, StringComparer.Ordinal);
}

/// <summary>The <c>quantization</c> field of a deploy request.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record QuantizationRequest
{
    /// <summary>llama.cpp's quantization type, e.g. <c>Q8_0</c> or <c>Q4_K_M</c> (see <c>ModelQuantizationActivity.Types</c>).</summary>
    public string? Type { get; init; }

    /// <summary>Quantizer threads; 0 or absent lets llama.cpp choose.</summary>
    public int? Threads { get; init; }
}

/// <summary>Resources per replica.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ResourceRequirements
{
    /// <summary>An accelerator catalog name, e.g. <c>NVIDIA H20</c>.</summary>
    public string? AcceleratorType { get; init; }

    /// <summary>Accelerators per replica.</summary>
    public int? AcceleratorCount { get; init; }

    /// <summary>A Kubernetes quantity, e.g. <c>4</c> or <c>500m</c>.</summary>
    public string? Cpu { get; init; }

    /// <summary>A Kubernetes quantity, e.g. <c>16Gi</c>.</summary>
    public string? Memory { get; init; }

    /// <summary>Tokens per sequence the runtime is sized for; absent: the model's own context length.</summary>
    public int? ContextLength { get; init; }

    /// <summary>Sequences served at once (the KV cache is sized for all of them); absent: 1.</summary>
    public int? ConcurrentSequences { get; init; }
}

/// <summary>A problem with one field of a request.</summary>
/// <param name="Field">The field, as a JSON path (<c>resourceRequirements.cpu</c>).</param>
/// <param name="Message">What is wrong and what to send instead.</param>
public sealed record FieldError(string Field, string Message);

/// <summary>Checks deploy requests; every error names its field and the fix.</summary>
public static partial class DeployRequestValidator
{
    /// <summary>Strict JSON: camelCase, unknown fields are errors.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        MaxDepth = 16,
    };

    /// <summary><see cref="Json"/>, leaving out members that are null (what a request did not send).</summary>
    public static readonly JsonSerializerOptions JsonWithoutNulls = new(Json) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The request fields every pipeline takes, or that choose the pipeline and shimlet rather than feed them.</summary>
    internal static readonly string[] FieldsEveryPipelineTakes = ["modelName", "modelFile", "resourceRequirements", "shimlet", "pipeline"];

    /// <summary>The longest context a request may ask for (tokens).</summary>
    public const int MaxContextLength = 10_000_000;

    /// <summary>The most sequences served at once a request may ask for.</summary>
    public const int MaxConcurrentSequences = 4096;

    /// <summary>The most files a request's <c>checksums</c> may list.</summary>
    public const int MaxChecksums = 1000;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123Label();

    [GeneratedRegex(@"^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE]\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Quantity();

    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelKey();

    [GeneratedRegex(@"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    /// <summary>Parses a body; on failure returns the field the JSON error is at.</summary>
    public static DeployRequest? Parse(string body, out FieldError? error)
    {
        error = null;
        try
        {
            var request = JsonSerializer.Deserialize<DeployRequest>(body, Json);
            if (request is null)
            {
                error = new FieldError("$", "Send a JSON object with modelName, modelFile and resourceRequirements.");
            }

            return request;
        }
        catch (JsonException e)
        {
            var field = (e.Path ?? "$").TrimStart('$').TrimStart('.');
            error = new FieldError(field.Length == 0 ? "$" : field, e.Message.Split(" Path:")[0].Replace("ModelServeShim.ControlPlane.", "", StringComparison.Ordinal)
                + " Check the field's type and spelling (unknown fields are not accepted).");
            return null;
        }
    }

    /// <summary>Validates the values.</summary>
    public static List<FieldError> Validate(DeployRequest r, AcceleratorCatalog catalog, ControlPlaneOptions limits)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(limits);
        var errors = new List<FieldError>();
        if (string.IsNullOrEmpty(r.ModelName))
        {
            errors.Add(new("modelName", "modelName is required, e.g. \"llama-3-8b\"."));
        }
        else if (!Dns1123Label().IsMatch(r.ModelName) || r.ModelName.Length > 63)
        {
            errors.Add(new("modelName", $"'{Truncate(r.ModelName)}' is not a DNS-1123 label: use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit (it names resources)."));
        }

        if (string.IsNullOrWhiteSpace(r.ModelFile))
        {
            errors.Add(new("modelFile", "modelFile is required: the model's file or directory, e.g. \"/models/llama-3-8b\"."));
        }
        else if (r.ModelFile.Length > 4096 || r.ModelFile.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add(new("modelFile", "modelFile must be a path of at most 4096 characters without NUL."));
        }

        var res = r.ResourceRequirements;
        if (res is null)
        {
            errors.Add(new("resourceRequirements", "resourceRequirements is required: {\"acceleratorType\", \"acceleratorCount\", \"cpu\", \"memory\"}."));
        }
        else
        {
            CheckQuantity(res.Cpu, "resourceRequirements.cpu", "\"4\" or \"500m\"", errors);
            CheckQuantity(res.Memory, "resourceRequirements.memory", "\"16Gi\"", errors);
            var count = res.AcceleratorCount ?? 0;
            if (count < 0 || count > limits.MaxAcceleratorsPerReplica)
            {
                errors.Add(new("resourceRequirements.acceleratorCount", $"acceleratorCount must be 0 to {limits.MaxAcceleratorsPerReplica}."));
            }

            if (res.AcceleratorType is { } type)
            {
                if (!catalog.TryGet(type, out _))
                {
                    errors.Add(new("resourceRequirements.acceleratorType", $"Unknown accelerator type '{Truncate(type)}'. Known types: {string.Join(", ", catalog.Entries.Select(e => e.Name))}. Add your own under Accelerators in the configuration."));
                }
            }
            else if (count > 0)
            {
                errors.Add(new("resourceRequirements.acceleratorType", $"acceleratorType is required when acceleratorCount is {count}. Known types: {string.Join(", ", catalog.Entries.Select(e => e.Name))}."));
            }
        }

        if (res is not null)
        {
            if (res.ContextLength is < 1 or > MaxContextLength)
            {
                errors.Add(new("resourceRequirements.contextLength", $"contextLength must be 1 to {MaxContextLength} tokens; omit it to use the model's own context length."));
            }

            if (res.ConcurrentSequences is < 1 or > MaxConcurrentSequences)
            {
                errors.Add(new("resourceRequirements.concurrentSequences", $"concurrentSequences must be 1 to {MaxConcurrentSequences}; omit it for 1."));
            }
        }

        if (r.ReplicaCount is { } replicas && (replicas < 1 || replicas > limits.MaxReplicas))
        {
            errors.Add(new("replicaCount", $"replicaCount must be 1 to {limits.MaxReplicas} (scale to 0 with POST /api/v1/modserv/{{id}}/scale)."));
        }

        if (r.Shimlet is not null && !Name().IsMatch(r.Shimlet))
        {
            errors.Add(new("shimlet", "shimlet must be a lower-case name such as k8s, local or docker."));
        }

        if (r.Pipeline is not null && !Name().IsMatch(r.Pipeline))
        {
            errors.Add(new("pipeline", "pipeline must be a workflow definition id such as opensourcellm."));
        }

        if (r.Runtime is not null && !Name().IsMatch(r.Runtime))
        {
            errors.Add(new("runtime", "runtime must be a runtime profile name such as llama-cpp or vllm."));
        }

        if (r.Namespace is not null && !Dns1123Label().IsMatch(r.Namespace))
        {
            errors.Add(new("namespace", "namespace must be a DNS-1123 label, e.g. \"models\"."));
        }

        if (r.Quantization is { } quantization)
        {
            if (!ModelQuantizationActivity.IsKnownType(quantization.Type))
            {
                errors.Add(new("quantization.type", $"{(quantization.Type is null ? "quantization.type is required" : $"Unknown quantization type '{Truncate(quantization.Type)}'")}. Supported: {string.Join(", ", ModelQuantizationActivity.Types)}."));
            }

            if (quantization.Threads is < 0 or > 1024)
            {
                errors.Add(new("quantization.threads", "quantization.threads must be 0 (llama.cpp chooses) to 1024."));
            }
        }

        if (r.Checksums is { } checksums)
        {
            CheckChecksums(checksums, errors);
        }

        if (r.Labels is { } labels)
        {
            if (labels.Count > 32)
            {
                errors.Add(new("labels", "At most 32 labels."));
            }

            foreach (var (key, value) in labels.Take(33))
            {
                if (key.Length > 253 || !LabelKey().IsMatch(key))
                {
                    errors.Add(new($"labels.{Truncate(key)}", "Not a valid label key: [prefix/]name, name is 1-63 letters, digits, '-', '_' or '.'."));
                }
                else if (value is null || value.Length > 63 || !LabelValue().IsMatch(value))
                {
                    errors.Add(new($"labels.{key}", "Not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit."));
                }
            }
        }

        return errors;
    }

    /// <summary>The workflow input for the pipeline: every field the pipeline declares.</summary>
    public static JsonObject ToPipelineInput(DeployRequest r, string serviceId, string shimlet, IEnumerable<string> declared)
    {
        ArgumentNullException.ThrowIfNull(r);
        var all = new JsonObject
        {
            ["serviceId"] = serviceId,
            ["modelName"] = r.ModelName,
            ["modelFile"] = r.ModelFile,
            ["resourceRequirements"] = JsonSerializer.SerializeToNode(r.ResourceRequirements, Json),
            ["replicaCount"] = r.ReplicaCount ?? 1,
            ["shimlet"] = shimlet,
            ["namespace"] = r.Namespace,
            ["labels"] = r.Labels is null ? null : JsonSerializer.SerializeToNode(r.Labels, Json),
            ["runtime"] = r.Runtime,
            ["dryRun"] = r.DryRun ?? false,
            ["verifyChecksums"] = r.VerifyChecksums ?? false,
            ["checksums"] = r.Checksums is null ? null : JsonSerializer.SerializeToNode(r.Checksums, Json),
            ["quantization"] = r.Quantization is null ? null : JsonSerializer.SerializeToNode(
                r.Quantization with { Type = r.Quantization.Type?.ToUpperInvariant() }, JsonWithoutNulls),
        };
        var input = new JsonObject();
        foreach (var name in declared)
        {
            if (all.TryGetPropertyValue(name, out var value) && value is not null)
            {
                input[name] = value.DeepClone();
            }
        }

        return input;
    }

    /// <summary>Whether <paramref name="name"/> is a top-level field of the deploy request (its JSON name).</summary>
    public static bool IsField(string name) => RequestFields.Contains(name);

    /// <summary>The request's top-level JSON names, from its own serialization (an empty request writes each as null).</summary>
    private static readonly HashSet<string> RequestFields =
        [.. JsonSerializer.SerializeToNode(new DeployRequest(), Json)!.AsObject().Select(p => p.Key)];

    private static void CheckChecksums(Dictionary<string, string> checksums, List<FieldError> errors)
    {
        if (checksums.Count is 0 or > MaxChecksums)
        {
            errors.Add(new("checksums", $"checksums lists 1 to {MaxChecksums} files: {{\"<path relative to the model directory>\": \"<64 hex digits>\"}}; omit it to use the manifest next to the model."));
            return;
        }

        foreach (var (file, sha256) in checksums.Take(MaxChecksums))
        {
            if (file.Length is 0 or > 1024 || file.StartsWith('/') || file.Contains('\\', StringComparison.Ordinal) || file.Contains('\0', StringComparison.Ordinal)
                || file.Split('/').Any(part => part is "" or "." or ".."))
            {
                errors.Add(new($"checksums.{Truncate(file)}", "Not a path inside the model directory: use a relative path with '/' separators and no '.' or '..' parts, e.g. \"model-00001-of-00002.safetensors\"."));
            }
            else if (sha256 is null || sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigit))
            {
                errors.Add(new($"checksums.{Truncate(file)}", "Not a SHA-256: give 64 hex digits, as sha256sum prints them."));
            }
        }
    }

    private static void CheckQuantity(string? value, string field, string example, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            errors.Add(new(field, $"{field} is required: a Kubernetes quantity such as {example}."));
        }
        else if (value.Length > 32 || !Quantity().IsMatch(value))
        {
            errors.Add(new(field, $"'{Truncate(value)}' is not a Kubernetes quantity: use a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, …), e.g. {example}."));
        }
    }

    private static string Truncate(string s) => s.Length > 80 ? s[..80] + "…" : s;
}
