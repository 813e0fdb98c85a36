namespace ModelServeShim.Models;

/// <summary>
/// A model file or directory that cannot be used as it is. <see cref="ErrorCode"/> says what kind of
/// problem it is and <see cref="Path"/> which file; the message says what is wrong and how to fix it.
/// Never retryable: the same bytes give the same answer.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(ModelErrorCode errorCode, string path, string message)
        : base(message)
    {
        ErrorCode = errorCode;
        Path = path;
    }

    public ModelFormatException(ModelErrorCode errorCode, string path, string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        Path = path;
    }

    public ModelFormatException()
        : this(ModelErrorCode.InvalidHeader, string.Empty, "The model is invalid.")
    {
    }

    public ModelFormatException(string message)
        : this(ModelErrorCode.InvalidHeader, string.Empty, message)
    {
    }

    public ModelFormatException(string message, Exception innerException)
        : this(ModelErrorCode.InvalidHeader, string.Empty, message, innerException)
    {
    }

    /// <summary>What kind of problem this is; branch on this, never on the message.</summary>
    public ModelErrorCode ErrorCode { get; }

    /// <summary>The offending file or directory (as the caller gave it, or as resolved).</summary>
    public string Path { get; }

    /// <summary>The tensor concerned, when the problem is about one tensor.</summary>
    public string? TensorName { get; init; }

    /// <summary>The shards or files concerned, e.g. every missing shard.</summary>
    public IReadOnlyList<string> RelatedFiles { get; init; } = [];
}
