namespace ModelServeShim.LlamaServer.Inference;

/// <summary>Where the model is in its life: requests are served only when <see cref="Ready"/>.</summary>
public enum ModelStatus
{
    Loading,
    Ready,
    Failed,
}

/// <summary>How to generate: at most <see cref="MaxTokens"/> tokens; <see cref="Temperature"/> 0 is greedy.</summary>
public sealed record GenerationSettings
{
    public int MaxTokens { get; init; } = 16;

    public float Temperature { get; init; }

    public float TopP { get; init; } = 1f;

    /// <summary>Seed for sampling (temperature &gt; 0); null picks a random one.</summary>
    public uint? Seed { get; init; }

    /// <summary>Generation ends before the first of these; it is not part of the text.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
}

/// <summary>One step of a generation: new text, and on the last update why it ended.</summary>
/// <param name="Text">Text since the previous update (may be empty).</param>
/// <param name="FinishReason">Null until the last update: <c>stop</c> (end of generation token or stop sequence) or <c>length</c>.</param>
/// <param name="PromptTokens">Tokens in the prompt.</param>
/// <param name="CompletionTokens">Tokens generated so far (a stop sequence's tokens count; the end-of-generation token does not).</param>
public sealed record GenerationUpdate(string Text, string? FinishReason, int PromptTokens, int CompletionTokens);

/// <summary>A chat message as the template sees it.</summary>
public sealed record ChatTurn(string Role, string Content);
