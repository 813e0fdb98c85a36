using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LLama.Native;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelServeShim.LlamaServer.Hosting;
using ModelServeShim.LlamaServer.Inference;

namespace ModelServeShim.LlamaServer.Apis;

/// <summary>The OpenAI-compatible endpoints: health, models, completions and chat completions.</summary>
public static class OpenAiApi
{
    private const int MaxStopSequences = 4;

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/health", Health)
            .WithName("Health")
            .WithSummary("503 while the model loads, 200 when it serves, 500 if loading failed.");

        var v1 = app.MapGroup("/v1").WithTags("OpenAI");
        v1.MapGet("/models", ListModels).WithName("ListModels").WithSummary("The one served model, by its alias.");
        v1.MapPost("/completions", CreateCompletion).WithName("CreateCompletion").WithSummary("Completes a prompt string.");
        v1.MapPost("/chat/completions", CreateChatCompletion).WithName("CreateChatCompletion").WithSummary("Answers chat messages.");
        return app;
    }

    /// <summary>What the handlers need.</summary>
    public sealed record ApiServices(LlamaInference Inference, ServerOptions Options, TimeProvider Clock);

    public static JsonHttpResult<HealthResponse> Health(LlamaInference inference) => inference.Status switch
    {
        ModelStatus.Ready => TypedResults.Json(new HealthResponse("ok"), OpenAiJson.Options),
        ModelStatus.Failed => TypedResults.Json(new HealthResponse("error", inference.LoadError), OpenAiJson.Options, statusCode: 500),
        _ => TypedResults.Json(new HealthResponse("loading"), OpenAiJson.Options, statusCode: 503),
    };

    public static JsonHttpResult<ModelList> ListModels(ServerOptions options)
    {
        long created = new DateTimeOffset(File.GetLastWriteTimeUtc(options.ModelPath)).ToUnixTimeSeconds();
        return TypedResults.Json(
            new ModelList("list", [new ModelCard(options.Alias, "model", "model-serve-shim", created)]),
            OpenAiJson.Options);
    }

    public static async Task<Results<JsonHttpResult<CompletionResponse>, ServerSentEventsResult<string>, JsonHttpResult<ErrorResponse>>> CreateCompletion(
        HttpRequest request, [AsParameters] ApiServices services, CancellationToken cancellationToken)
    {
        var (body, error) = await ReadAsync<CompletionRequest>(request, services, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (body!.Prompt is not { ValueKind: JsonValueKind.String } promptElement || promptElement.GetString() is not { Length: > 0 } prompt)
        {
            return Invalid("'prompt' must be a non-empty string (arrays of prompts and token ids are not supported).", "prompt");
        }

        if (CheckModel(body.Model, services.Options) is { } notFound)
        {
            return notFound;
        }

        if (Sampling(body.MaxTokens, body.Temperature, body.TopP, body.Seed, body.Stop, body.N, services.Inference, out var settings) is { } invalid)
        {
            return invalid;
        }

        var tokens = services.Inference.Tokenize(prompt);
        if (CheckPromptLength(tokens, "prompt", services.Inference) is { } tooLong)
        {
            return tooLong;
        }

        string id = $"cmpl-{Guid.NewGuid():N}";
        long created = services.Clock.GetUtcNow().ToUnixTimeSeconds();
        var updates = services.Inference.GenerateAsync(tokens, settings, cancellationToken);
        if (body.Stream == true)
        {
            return TypedResults.ServerSentEvents(StreamCompletion(updates, id, created, services.Options.Alias, cancellationToken));
        }

        var (text, last) = await CollectAsync(updates);
        return TypedResults.Json(
            new CompletionResponse(id, "text_completion", created, services.Options.Alias, [new CompletionChoice(0, text, null, last.FinishReason)], UsageOf(last)),
            OpenAiJson.Options);
    }

    public static async Task<Results<JsonHttpResult<ChatCompletionResponse>, ServerSentEventsResult<string>, JsonHttpResult<ErrorResponse>>> CreateChatCompletion(
        HttpRequest request, [AsParameters] ApiServices services, CancellationToken cancellationToken)
    {
        var (body, error) = await ReadAsync<ChatCompletionRequest>(request, services, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (CheckModel(body!.Model, services.Options) is { } notFound)
        {
            return notFound;
        }

        if (ReadMessages(body.Messages, out var messages) is { } badMessages)
        {
            return badMessages;
        }

        if (Sampling(body.MaxCompletionTokens ?? body.MaxTokens, body.Temperature, body.TopP, body.Seed, body.Stop, body.N, services.Inference, out var settings) is { } invalid)
        {
            return invalid;
        }

        var tokens = services.Inference.Tokenize(services.Inference.FormatChat(messages));
        if (CheckPromptLength(tokens, "messages", services.Inference) is { } tooLong)
        {
            return tooLong;
        }

        string id = $"chatcmpl-{Guid.NewGuid():N}";
        long created = services.Clock.GetUtcNow().ToUnixTimeSeconds();
        var updates = services.Inference.GenerateAsync(tokens, settings, cancellationToken);
        if (body.Stream == true)
        {
            return TypedResults.ServerSentEvents(StreamChat(updates, id, created, services.Options.Alias, cancellationToken));
        }

        var (text, last) = await CollectAsync(updates);
        return TypedResults.Json(
            new ChatCompletionResponse(id, "chat.completion", created, services.Options.Alias, [new ChatChoice(0, new ChatMessage("assistant", text), last.FinishReason)], UsageOf(last)),
            OpenAiJson.Options);
    }

    private static async IAsyncEnumerable<string> StreamCompletion(
        IAsyncEnumerable<GenerationUpdate> updates, string id, long created, string model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var update in updates.WithCancellation(cancellationToken))
        {
            if (update.Text.Length > 0)
            {
                yield return Json(new CompletionResponse(id, "text_completion", created, model, [new CompletionChoice(0, update.Text, null, null)], null));
            }

            if (update.FinishReason is not null)
            {
                yield return Json(new CompletionResponse(id, "text_completion", created, model, [new CompletionChoice(0, "", null, update.FinishReason)], UsageOf(update)));
            }
        }

        yield return "[DONE]";
    }

    private static async IAsyncEnumerable<string> StreamChat(
        IAsyncEnumerable<GenerationUpdate> updates, string id, long created, string model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return Json(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChatChunkChoice(0, new ChatDelta("assistant", ""), null)], null));
        await foreach (var update in updates.WithCancellation(cancellationToken))
        {
            if (update.Text.Length > 0)
            {
                yield return Json(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChatChunkChoice(0, new ChatDelta(null, update.Text), null)], null));
            }

            if (update.FinishReason is not null)
            {
                yield return Json(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChatChunkChoice(0, new ChatDelta(null, null), update.FinishReason)], UsageOf(update)));
            }
        }

        yield return "[DONE]";
    }

    private static async Task<(string Text, GenerationUpdate Last)> CollectAsync(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var text = new StringBuilder();
        GenerationUpdate? last = null;
        await foreach (var update in updates)
        {
            text.Append(update.Text);
            last = update;
        }

        return (text.ToString(), last ?? throw new InvalidOperationException("Generation ended without a final update."));
    }

    /// <summary>Parses the body, or returns the error to send: 503 while loading, 400 for a body that is not the expected JSON.</summary>
    private static async Task<(T? Body, JsonHttpResult<ErrorResponse>? Error)> ReadAsync<T>(HttpRequest request, ApiServices services, CancellationToken cancellationToken)
        where T : class
    {
        if (services.Inference.Status != ModelStatus.Ready)
        {
            return (null, services.Inference.Status == ModelStatus.Failed
                ? Error(500, $"The model failed to load: {services.Inference.LoadError}", "server_error", null)
                : Error(503, "The model is loading; retry when GET /health answers 200.", "unavailable_error", null));
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, OpenAiJson.Options, cancellationToken);
            return body is null ? (null, Invalid("The request body must be a JSON object.", null)) : (body, null);
        }
        catch (JsonException e)
        {
            string? param = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            return (null, Invalid(
                param is null ? "The request body is not valid JSON." : $"'{param}' has the wrong type, or the JSON around it is malformed.",
                param));
        }
    }

    private static JsonHttpResult<ErrorResponse>? CheckModel(string? model, ServerOptions options) =>
        model is null || model == options.Alias
            ? null
            : Error(404, $"The model '{model}' does not exist; this server serves '{options.Alias}'.", "invalid_request_error", "model", "model_not_found");

    private static JsonHttpResult<ErrorResponse>? Sampling(
        int? maxTokens, float? temperature, float? topP, long? seed, JsonElement? stop, int? n, LlamaInference inference, out GenerationSettings settings)
    {
        settings = new GenerationSettings();
        int limit = inference.ContextSize - 1;
        if (maxTokens is < 1 || maxTokens > limit)
        {
            return Invalid($"'max_tokens' must be from 1 to {limit} (the context holds {inference.ContextSize} tokens).", "max_tokens");
        }

        if (temperature is < 0f or > 2f || temperature is { } t && !float.IsFinite(t))
        {
            return Invalid("'temperature' must be from 0 to 2 (0 is greedy).", "temperature");
        }

        if (topP is <= 0f or > 1f || topP is { } p && !float.IsFinite(p))
        {
            return Invalid("'top_p' must be greater than 0 and at most 1.", "top_p");
        }

        if (seed is < 0 || seed > uint.MaxValue)
        {
            return Invalid($"'seed' must be from 0 to {uint.MaxValue}.", "seed");
        }

        if (n is not (null or 1))
        {
            return Invalid("'n' must be 1: one choice per request.", "n");
        }

        if (ReadStop(stop, out var stops) is { } badStop)
        {
            return badStop;
        }

        settings = new GenerationSettings
        {
            MaxTokens = maxTokens ?? settings.MaxTokens,
            Temperature = temperature ?? 1f,
            TopP = topP ?? 1f,
            Seed = (uint?)seed,
            Stop = stops,
        };
        return null;
    }

    private static JsonHttpResult<ErrorResponse>? ReadStop(JsonElement? stop, out IReadOnlyList<string> stops)
    {
        stops = [];
        switch (stop)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } single when single.GetString() is { Length: > 0 } text:
                stops = [text];
                return null;
            case { ValueKind: JsonValueKind.Array } array when array.GetArrayLength() <= MaxStopSequences
                && array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && e.GetString()!.Length > 0):
                stops = [.. array.EnumerateArray().Select(e => e.GetString()!)];
                return null;
            default:
                return Invalid($"'stop' must be a non-empty string or an array of at most {MaxStopSequences} non-empty strings.", "stop");
        }
    }

    private static JsonHttpResult<ErrorResponse>? ReadMessages(IReadOnlyList<ChatMessageRequest?>? input, out List<ChatTurn> messages)
    {
        messages = [];
        if (input is not { Count: > 0 })
        {
            return Invalid("'messages' must be a non-empty array of {\"role\",\"content\"} objects.", "messages");
        }

        for (int i = 0; i < input.Count; i++)
        {
            if (input[i] is not { Role: "system" or "developer" or "user" or "assistant" } message)
            {
                return Invalid($"'messages[{i}].role' must be one of system, developer, user, assistant.", $"messages[{i}].role");
            }

            if (ContentText(message.Content) is not { } content)
            {
                return Invalid($"'messages[{i}].content' must be a string or an array of text parts.", $"messages[{i}].content");
            }

            // Chat templates know "system"; OpenAI's newer "developer" role means the same.
            messages.Add(new ChatTurn(message.Role == "developer" ? "system" : message.Role!, content));
        }

        return null;
    }

    private static string? ContentText(JsonElement? content)
    {
        if (content is { ValueKind: JsonValueKind.String } text)
        {
            return text.GetString();
        }

        if (content is not { ValueKind: JsonValueKind.Array } parts)
        {
            return null;
        }

        var joined = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object
                || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            joined.Append(partText.GetString());
        }

        return joined.ToString();
    }

    private static JsonHttpResult<ErrorResponse>? CheckPromptLength(LLamaToken[] tokens, string param, LlamaInference inference) =>
        tokens.Length < inference.ContextSize
            ? null
            : Invalid($"The {param} is {tokens.Length} tokens; the context holds {inference.ContextSize}, so it must be at most {inference.ContextSize - 1}.", param);

    private static Usage UsageOf(GenerationUpdate update) =>
        new(update.PromptTokens, update.CompletionTokens, update.PromptTokens + update.CompletionTokens);

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, OpenAiJson.Options);

    private static JsonHttpResult<ErrorResponse> Invalid(string message, string? param) =>
        Error(400, message, "invalid_request_error", param);

    private static JsonHttpResult<ErrorResponse> Error(int status, string message, string type, string? param, string? code = null) =>
        TypedResults.Json(new ErrorResponse(new ErrorBody(message, type, param, code)), OpenAiJson.Options, statusCode: status);
}
