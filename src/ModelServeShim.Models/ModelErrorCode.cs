namespace ModelServeShim.Models;

/// <summary>
/// Machine-readable reason a model could not be inspected. Callers map these to pipeline step
/// errors; the exception message is for people and may change between versions.
/// </summary>
public enum ModelErrorCode
{
    /// <summary>The file or directory does not exist.</summary>
    ModelNotFound,

    /// <summary>The path exists but is not a format this library reads (only <c>.gguf</c> files and Hugging Face safetensors directories are).</summary>
    UnsupportedFormat,

    /// <summary>The file declares a format version this library does not read.</summary>
    UnsupportedVersion,

    /// <summary>A file header is malformed: bad magic, impossible lengths, inconsistent offsets, invalid JSON.</summary>
    InvalidHeader,

    /// <summary>A GGUF tensor uses a ggml type id missing from this library's size table.</summary>
    UnknownTensorType,

    /// <summary>A file is shorter than its header says: some tensor data is missing.</summary>
    TruncatedFile,

    /// <summary>A shard named by <c>model.safetensors.index.json</c> is not on disk.</summary>
    ShardMissing,

    /// <summary>A Hugging Face model directory has no <c>config.json</c>.</summary>
    ConfigMissing,

    /// <summary><c>config.json</c> is not valid JSON or lacks a value needed to describe the model.</summary>
    InvalidConfig,

    /// <summary>The path is empty or contains characters no file system accepts.</summary>
    InvalidPath,

    /// <summary>The path resolves (after <c>..</c> and symbolic links) to a location outside every configured model root.</summary>
    PathOutsideModelRoot,

    /// <summary>A SHA-256 manifest line is malformed or names a path outside the model directory.</summary>
    InvalidManifest,
}
