using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelServeShim.LlamaServer.Apis;

// Requests: the OpenAI fields this server honours. Fields it does not know are ignored.

/// <summary>POST /v1/completions.</summary>
public sealed record CompletionRequest(
    string? Model,
    JsonElement? Prompt,
    int? MaxTokens,
    float? Temperature,
    float? TopP,
    long? Seed,
    JsonElement? Stop,
    bool? Stream,
    int? N);

/// <summary>POST /v1/chat/completions. <c>max_completion_tokens</c> is the newer name of <c>max_tokens</c>.</summary>
public sealed record ChatCompletionRequest(
    string? Model,
    IReadOnlyList<ChatMessageRequest?>? Messages,
    int? MaxTokens,
    int? MaxCompletionTokens,
    float? Temperature,
    float? TopP,
    long? Seed,
    JsonElement? Stop,
    bool? Stream,
    int? N);

/// <summary>A chat message: <c>content</c> is a string or an array of <c>{"type":"text","text":…}</c> parts.</summary>
public sealed record ChatMessageRequest(string? Role, JsonElement? Content);

// Responses.

public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

public sealed record CompletionChoice(int Index, string Text, object? Logprobs, string? FinishReason);

public sealed record CompletionResponse(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<CompletionChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage);

public sealed record ChatMessage(string Role, string Content);

public sealed record ChatChoice(int Index, ChatMessage Message, string? FinishReason);

public sealed record ChatCompletionResponse(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage);

public sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason);

public sealed record ChatCompletionChunk(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage);

public sealed record ModelCard(string Id, string Object, string OwnedBy, long Created);

public sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

public sealed record HealthResponse(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message = null);

/// <summary>OpenAI's error shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record ErrorResponse(ErrorBody Error);

public sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

/// <summary>The wire format: snake_case names, strict numbers.</summary>
public static class OpenAiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
