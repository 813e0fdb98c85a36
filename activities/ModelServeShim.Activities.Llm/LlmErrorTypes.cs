namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The error types the opensourcellm steps fail with (<see cref="Abstractions.Activities.StepException.ErrorType"/>).
/// Stable: retry settings, <c>Failed</c> branches and dashboards match on them. Whether each is retryable is
/// fixed per type and noted here; it is never derived from a message.
/// </summary>
public static class LlmErrorTypes
{
    /// <summary>The model file or directory does not exist (not retryable).</summary>
    public const string ModelNotFound = "ModelNotFound";

    /// <summary>The model path resolves outside every configured model root (not retryable).</summary>
    public const string PathOutsideModelRoot = "PathOutsideModelRoot";

    /// <summary>The model path is empty or has characters no file system accepts, or loops through links (not retryable).</summary>
    public const string InvalidModelPath = "InvalidModelPath";

    /// <summary>The path is not a .gguf file or a Hugging Face safetensors directory (not retryable).</summary>
    public const string UnsupportedModelFormat = "UnsupportedModelFormat";

    /// <summary>The file declares a format version that is not read (not retryable).</summary>
    public const string UnsupportedModelVersion = "UnsupportedModelVersion";

    /// <summary>A model header is malformed (not retryable).</summary>
    public const string InvalidModelHeader = "InvalidModelHeader";

    /// <summary>A GGUF tensor uses an unknown ggml type (not retryable).</summary>
    public const string UnknownTensorType = "UnknownTensorType";

    /// <summary>A model file is shorter than its header says (not retryable).</summary>
    public const string TruncatedModelFile = "TruncatedModelFile";

    /// <summary>A safetensors shard named by the index is missing (not retryable).</summary>
    public const string ShardMissing = "ShardMissing";

    /// <summary>A Hugging Face directory has no config.json (not retryable).</summary>
    public const string ModelConfigMissing = "ModelConfigMissing";

    /// <summary>config.json is invalid or lacks a needed value (not retryable).</summary>
    public const string InvalidModelConfig = "InvalidModelConfig";

    /// <summary>The SHA-256 manifest is malformed (not retryable).</summary>
    public const string InvalidChecksumManifest = "InvalidChecksumManifest";

    /// <summary><c>verifyChecksums</c> is true but the model has no SHA-256 manifest (not retryable).</summary>
    public const string ChecksumManifestMissing = "ChecksumManifestMissing";

    /// <summary>A file's SHA-256 differs from the manifest, or a listed file is missing (not retryable).</summary>
    public const string ChecksumMismatch = "ChecksumMismatch";

    /// <summary>The model cannot be read: permission denied (not retryable).</summary>
    public const string ModelUnreadable = "ModelUnreadable";

    /// <summary>Reading the model failed with an I/O error (retryable: network file systems recover).</summary>
    public const string ModelReadFailed = "ModelReadFailed";

    /// <summary>The accelerator type is not in the catalog (not retryable); the message lists the known names.</summary>
    public const string UnknownAccelerator = "UnknownAccelerator";

    /// <summary>The model does not fit the accelerators' memory (not retryable); message and details say by how much and what would fit.</summary>
    public const string InsufficientAcceleratorMemory = "InsufficientAcceleratorMemory";

    /// <summary>The requested runtime profile does not exist (not retryable).</summary>
    public const string UnknownRuntime = "UnknownRuntime";

    /// <summary>The runtime does not serve the model's format, or no runtime does (not retryable).</summary>
    public const string RuntimeFormatMismatch = "RuntimeFormatMismatch";

    /// <summary>No shimlet has the requested name (not retryable); the message lists the names.</summary>
    public const string UnknownShimlet = "UnknownShimlet";

    /// <summary>A shimlet failed with an exception that carries no error type (retryable).</summary>
    public const string ShimletFailed = "ShimletFailed";

    /// <summary>The service's image cannot be pulled (not retryable).</summary>
    public const string ImageUnavailable = "ImageUnavailable";

    /// <summary>The runtime keeps crashing (not retryable).</summary>
    public const string CrashLoop = "CrashLoop";

    /// <summary>No node can take the service, for a reason other than accelerators (not retryable).</summary>
    public const string Unschedulable = "Unschedulable";

    /// <summary>Not enough accelerators in the environment (not retryable).</summary>
    public const string InsufficientAccelerators = "InsufficientAccelerators";

    /// <summary>The environment reports the deployment failed for another reason (not retryable).</summary>
    public const string DeploymentFailed = "DeploymentFailed";

    /// <summary>The service was stopped (scaled to zero or being deleted) while the health check waited (not retryable).</summary>
    public const string ServiceStopped = "ServiceStopped";

    /// <summary>The shimlet's status stream ended without the service becoming ready (retryable).</summary>
    public const string StatusWatchEnded = "StatusWatchEnded";

    /// <summary><c>/v1/models</c> answered 200 with a body that is not an OpenAI model list (not retryable).</summary>
    public const string InvalidModelsResponse = "InvalidModelsResponse";

    /// <summary><c>/v1/models</c> does not list the served model name (not retryable).</summary>
    public const string ModelNotServed = "ModelNotServed";

    /// <summary>The embedded runtime <c>model-serve-shim-llama</c> that <c>llama-embedded</c> runs was not found (not retryable).</summary>
    public const string LlamaServerNotFound = "LlamaServerNotFound";

    /// <summary>model-quantization cannot find <c>model-serve-shim-llama</c>, which runs llama.cpp's quantizer (not retryable).</summary>
    public const string QuantizerNotFound = "QuantizerNotFound";

    /// <summary>The quantization type is not one llama.cpp's quantizer is offered for (not retryable); the message lists them.</summary>
    public const string UnsupportedQuantizationType = "UnsupportedQuantizationType";

    /// <summary>The quantizer exited with an error (not retryable: the same input fails the same way); the message quotes it.</summary>
    public const string QuantizationFailed = "QuantizationFailed";

    /// <summary>The deploy policy refuses the deploy (not retryable); the message quotes the rule that decided or came closest.</summary>
    public const string PermissionDenied = "PermissionDenied";

    /// <summary>No deploy policy is configured (<c>Policies:Deploy</c>), so a permission check refuses everything (not retryable).</summary>
    public const string DeployPolicyNotConfigured = "DeployPolicyNotConfigured";

    /// <summary>The deploy policy is invalid or its file is missing (not retryable); the message names the rule and field.</summary>
    public const string InvalidDeployPolicy = "InvalidDeployPolicy";

    /// <summary>Reading the deploy policy file failed with an I/O error (retryable).</summary>
    public const string DeployPolicyUnreadable = "DeployPolicyUnreadable";

    /// <summary>The manifest does not list a model weight file, so it cannot be verified (not retryable).</summary>
    public const string ChecksumManifestIncomplete = "ChecksumManifestIncomplete";
}
