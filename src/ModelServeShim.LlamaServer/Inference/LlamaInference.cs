using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Exceptions;
using LLama.Native;
using LLama.Sampling;
using ModelServeShim.LlamaServer.Hosting;

namespace ModelServeShim.LlamaServer.Inference;

/// <summary>
/// The model and its sequences: loads the GGUF once, keeps one llama.cpp context per <c>--parallel</c> slot,
/// and runs the decode loop (prompt, then one token at a time) for a request that holds a slot.
/// </summary>
public sealed class LlamaInference(ServerOptions options, ILoggerFactory loggerFactory) : IDisposable
{
    /// <summary>Log category of llama.cpp's own messages (chatty at Information; the server shows Warning and above).</summary>
    public const string NativeLogCategory = "llama.cpp";

    private static readonly Lock NativeLock = new();
    private readonly ILogger _logger = loggerFactory.CreateLogger<LlamaInference>();
    private readonly ConcurrentBag<LLamaContext> _idleContexts = [];
    private readonly SemaphoreSlim _slots = new(0, options.Parallel);
    private LLamaWeights? _weights;
    private bool _modelHasChatTemplate;
    private volatile ModelStatus _status = ModelStatus.Loading;

    public ModelStatus Status => _status;

    /// <summary>Why loading failed, when <see cref="Status"/> is <see cref="ModelStatus.Failed"/>.</summary>
    public string? LoadError { get; private set; }

    /// <summary>Tokens per sequence (prompt plus completion), known once loaded.</summary>
    public int ContextSize { get; private set; }

    /// <summary>Whether chat prompts use the model's own template (else <see cref="FormatChat"/>'s role-prefixed fallback).</summary>
    public bool UsesModelChatTemplate => _modelHasChatTemplate;

    /// <summary>Loads the weights and creates the contexts; never throws (a failure sets <see cref="LoadError"/>).</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            ConfigureNativeLibrary();
            var parameters = Parameters(options.ContextSize ?? ServerOptions.DefaultContextSize);
            _logger.LogInformation("Loading {Model} ({Threads} thread(s), {Parallel} sequence(s))", options.ModelPath, options.Threads, options.Parallel);
            _weights = await LLamaWeights.LoadFromFileAsync(parameters, cancellationToken);

            ContextSize = options.ContextSize ?? Math.Min(ServerOptions.DefaultContextSize, _weights.ContextSize);
            parameters = Parameters(ContextSize);
            for (int i = 0; i < options.Parallel; i++)
            {
                _idleContexts.Add(_weights.CreateContext(parameters, _logger));
            }

            _modelHasChatTemplate = ModelChatTemplateWorks(_weights);
            _slots.Release(options.Parallel);
            _status = ModelStatus.Ready;
            _logger.LogInformation(
                "Model {Alias} ready: context {ContextSize} tokens per sequence, chat template {Template}",
                options.Alias,
                ContextSize,
                _modelHasChatTemplate ? "from the model" : "role-prefixed fallback");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LoadError = e.Message;
            _status = ModelStatus.Failed;
            _logger.LogError(e, "Loading {Model} failed", options.ModelPath);
        }
    }

    /// <summary>Tokenizes a prompt the way it will be evaluated (with BOS when the model wants it, special tokens parsed).</summary>
    public LLamaToken[] Tokenize(string text)
    {
        var weights = RequireWeights();
        var tokens = weights.Tokenize(text, weights.Vocab.ShouldAddBOS, special: true, Encoding.UTF8);

        // A chat template that writes BOS itself would otherwise get a second one.
        return tokens is [var first, var second, ..] && first == second && first == weights.Vocab.BOS ? tokens[1..] : tokens;
    }

    /// <summary>
    /// Formats chat messages as a prompt: the model's chat template when llama.cpp supports it, else
    /// <c>"{role}: {content}\n"</c> per message followed by <c>"assistant:"</c>.
    /// </summary>
    public string FormatChat(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var weights = RequireWeights();
        if (_modelHasChatTemplate)
        {
            var template = new LLamaTemplate(weights, strict: true) { AddAssistant = true };
            foreach (var message in messages)
            {
                template.Add(message.Role, message.Content);
            }

            return Encoding.UTF8.GetString(template.Apply());
        }

        var prompt = new StringBuilder();
        foreach (var message in messages)
        {
            prompt.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return prompt.Append("assistant:").ToString();
    }

    /// <summary>
    /// Generates from <paramref name="prompt"/> once a sequence is free (waiting otherwise). Yields text as it
    /// settles; the last update carries the finish reason. Cancelling stops between tokens and frees the sequence.
    /// </summary>
    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(
        IReadOnlyList<LLamaToken> prompt,
        GenerationSettings settings,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(settings);
        var weights = RequireWeights();
        if (prompt.Count == 0 || prompt.Count >= ContextSize)
        {
            throw new ArgumentException($"The prompt must have 1 to {ContextSize - 1} tokens.", nameof(prompt));
        }

        await _slots.WaitAsync(cancellationToken);
        if (!_idleContexts.TryTake(out var context))
        {
            _slots.Release();
            throw new InvalidOperationException("A slot was free but no context was idle.");
        }

        int generated = 0;
        bool finished = false;
        try
        {
            context.NativeHandle.MemoryClear();
            using var sampler = CreateSampler(settings);
            var decoder = new StreamingTokenDecoder(Encoding.UTF8, weights);
            var stops = new StopSequenceMatcher(settings.Stop);
            var batch = new LLamaBatch();
            int position = await EvaluatePromptAsync(context, batch, prompt, cancellationToken);
            string finishReason;
            string tail;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var token = sampler.Sample(context.NativeHandle, batch.TokenCount - 1);
                if (token.IsEndOfGeneration(weights.Vocab))
                {
                    (finishReason, tail) = ("stop", stops.Flush());
                    break;
                }

                generated++;
                decoder.Add(token);
                string text = stops.Push(decoder.Read());
                if (stops.Stopped)
                {
                    (finishReason, tail) = ("stop", text);
                    break;
                }

                if (generated >= settings.MaxTokens || position >= ContextSize)
                {
                    (finishReason, tail) = ("length", text + stops.Flush());
                    break;
                }

                if (text.Length > 0)
                {
                    yield return new GenerationUpdate(text, null, prompt.Count, generated);
                }

                batch.Clear();
                batch.Add(token, position++, LLamaSeqId.Zero, true);
                await DecodeAsync(context, batch, cancellationToken);
            }

            yield return new GenerationUpdate(tail, finishReason, prompt.Count, generated);
            finished = true;
        }
        finally
        {
            _idleContexts.Add(context);
            _slots.Release();
            if (!finished && cancellationToken.IsCancellationRequested)
            {
                _logger.LogInformation("Generation cancelled after {Tokens} token(s): the client went away", generated);
            }
        }
    }

    public void Dispose()
    {
        while (_idleContexts.TryTake(out var context))
        {
            context.Dispose();
        }

        _weights?.Dispose();
        _slots.Dispose();
    }

    private ModelParams Parameters(int contextSize) => new(options.ModelPath)
    {
        ContextSize = (uint)contextSize,
        GpuLayerCount = 0,
        Threads = options.Threads,
        BatchThreads = options.Threads,
        BatchSize = (uint)Math.Min(contextSize, 512),
        UBatchSize = (uint)Math.Min(contextSize, 512),
        SeqMax = 1,
    };

    private static ISamplingPipeline CreateSampler(GenerationSettings settings) =>
        settings.Temperature == 0
            ? new GreedySamplingPipeline()
            : new DefaultSamplingPipeline
            {
                Temperature = settings.Temperature,
                TopP = settings.TopP,
                Seed = settings.Seed ?? (uint)Random.Shared.Next(),
            };

    private static async Task<int> EvaluatePromptAsync(LLamaContext context, LLamaBatch batch, IReadOnlyList<LLamaToken> prompt, CancellationToken cancellationToken)
    {
        var tokens = prompt as LLamaToken[] ?? [.. prompt];
        int chunk = (int)context.BatchSize;
        for (int start = 0; start < tokens.Length; start += chunk)
        {
            int length = Math.Min(chunk, tokens.Length - start);
            batch.Clear();
            batch.AddRange(tokens.AsSpan(start, length), start, LLamaSeqId.Zero, logitsLast: start + length == tokens.Length);
            await DecodeAsync(context, batch, cancellationToken);
        }

        return tokens.Length;
    }

    private static async Task DecodeAsync(LLamaContext context, LLamaBatch batch, CancellationToken cancellationToken)
    {
        var result = await context.DecodeAsync(batch, cancellationToken);
        if (result != DecodeResult.Ok)
        {
            throw new LLamaDecodeError(result);
        }
    }

    private LLamaWeights RequireWeights() =>
        _status == ModelStatus.Ready ? _weights! : throw new InvalidOperationException($"The model is not ready ({_status}).");

    private bool ModelChatTemplateWorks(LLamaWeights weights)
    {
        if (!weights.Metadata.ContainsKey("tokenizer.chat_template"))
        {
            return false;
        }

        try
        {
            // llama.cpp recognises common templates, not arbitrary Jinja: try one message now rather than fail a request later.
            var template = new LLamaTemplate(weights, strict: true) { AddAssistant = true };
            template.Add("user", "hello");
            return template.Apply().Length > 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning("The model's chat template is not supported by llama.cpp ({Reason}); using the role-prefixed fallback", e.Message);
            return false;
        }
    }

    private void ConfigureNativeLibrary()
    {
        lock (NativeLock)
        {
            if (NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                return;
            }

            NativeLibraryConfig.All.WithCuda(false).WithVulkan(false).WithAutoFallback(true).WithLogCallback(loggerFactory.CreateLogger(NativeLogCategory));
            NativeApi.llama_empty_call();
        }
    }
}
