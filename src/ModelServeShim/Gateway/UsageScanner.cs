using System.Text.Json;

namespace ModelServeShim.Gateway;

/// <summary>Token counts a runtime reported in an OpenAI <c>usage</c> object.</summary>
/// <param name="PromptTokens"><c>usage.prompt_tokens</c>.</param>
/// <param name="CompletionTokens"><c>usage.completion_tokens</c> (absent for embeddings: 0).</param>
public readonly record struct TokenUsage(long PromptTokens, long CompletionTokens);

/// <summary>
/// Finds the top-level <c>usage</c> object of a JSON response while its bytes pass, without holding the response:
/// a resumable <see cref="Utf8JsonReader"/> keeps only the bytes of the token it is in the middle of. Everything but
/// the usage numbers is skipped and nothing is kept; a response that is not JSON just yields no usage.
/// </summary>
internal sealed class JsonUsageScanner
{
    /// <summary>The longest single token (a string) the scanner holds before it gives up on a response.</summary>
    private const int MaxPendingBytes = 4 * 1024 * 1024;

    private byte[] _pending = new byte[4096];
    private int _pendingLength;
    private JsonReaderState _state;
    private bool _failed;
    private UsageTokens _tokens;

    /// <summary>The usage seen, if any.</summary>
    public TokenUsage? Usage => _tokens.Usage;

    /// <summary>Scans the next bytes of the response.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_failed || data.IsEmpty)
        {
            return;
        }

        if (_pendingLength + data.Length > _pending.Length)
        {
            if (_pendingLength > MaxPendingBytes)
            {
                _failed = true;
                return;
            }

            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + data.Length));
        }

        data.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += data.Length;
        var reader = new Utf8JsonReader(_pending.AsSpan(0, _pendingLength), isFinalBlock: false, _state);
        try
        {
            while (reader.Read())
            {
                _tokens.Observe(ref reader);
            }
        }
        catch (JsonException)
        {
            _failed = true;
            return;
        }

        var consumed = (int)reader.BytesConsumed;
        _pending.AsSpan(consumed, _pendingLength - consumed).CopyTo(_pending);
        _pendingLength -= consumed;
        _state = reader.CurrentState;
    }

    /// <summary>The usage of one complete JSON document (a server-sent event's data), if it has a top-level usage object.</summary>
    public static TokenUsage? Read(ReadOnlySpan<byte> json)
    {
        var tokens = default(UsageTokens);
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                tokens.Observe(ref reader);
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return tokens.Usage;
    }

    /// <summary>Follows the tokens: <c>usage</c> at depth 1, then its numbers at depth 2.</summary>
    private struct UsageTokens
    {
        private bool _usageNext;
        private bool _inUsage;
        private int _field; // 1 prompt_tokens, 2 completion_tokens
        private long _prompt;
        private long _completion;
        private bool _seen;

        public readonly TokenUsage? Usage => _seen ? new TokenUsage(_prompt, _completion) : null;

        public void Observe(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                    _usageNext = reader.ValueTextEquals("usage"u8);
                    break;
                case JsonTokenType.PropertyName when _inUsage && reader.CurrentDepth == 2:
                    _field = reader.ValueTextEquals("prompt_tokens"u8) ? 1 : reader.ValueTextEquals("completion_tokens"u8) ? 2 : 0;
                    break;
                case JsonTokenType.StartObject when _usageNext && reader.CurrentDepth == 1:
                    _usageNext = false;
                    _inUsage = true;
                    _seen = true;
                    _prompt = 0;
                    _completion = 0;
                    break;
                case JsonTokenType.EndObject when _inUsage && reader.CurrentDepth == 1:
                    _inUsage = false;
                    break;
                case JsonTokenType.Number when _inUsage && reader.CurrentDepth == 2 && _field != 0:
                    if (reader.TryGetInt64(out var value) && value >= 0)
                    {
                        if (_field == 1)
                        {
                            _prompt = value;
                        }
                        else
                        {
                            _completion = value;
                        }
                    }

                    _field = 0;
                    break;
                default:
                    if (reader.CurrentDepth <= 1)
                    {
                        _usageNext = false;
                    }

                    break;
            }
        }
    }
}

/// <summary>
/// Reads a server-sent event stream's <c>data:</c> lines as they pass: notes when the first event came (time to first
/// token) and keeps the last <c>usage</c> a chunk carried (OpenAI runtimes put it in the final chunk).
/// </summary>
internal sealed class SseUsageScanner
{
    private const int MaxLineBytes = 1024 * 1024;
    private static readonly byte[] DataPrefix = "data:"u8.ToArray();
    private static readonly byte[] Done = "[DONE]"u8.ToArray();

    private byte[] _line = new byte[1024];
    private int _lineLength;
    private bool _lineTooLong;

    /// <summary>The usage of the last chunk that carried one.</summary>
    public TokenUsage? Usage { get; private set; }

    /// <summary>True once a data event other than <c>[DONE]</c> passed.</summary>
    public bool SawEvent { get; private set; }

    /// <summary>Scans the next bytes; returns true when they completed the first event.</summary>
    public bool Append(ReadOnlySpan<byte> data)
    {
        var first = false;
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var part = newline < 0 ? data : data[..newline];
            if (!_lineTooLong)
            {
                if (_lineLength + part.Length > MaxLineBytes)
                {
                    _lineTooLong = true;
                }
                else
                {
                    if (_lineLength + part.Length > _line.Length)
                    {
                        Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLength + part.Length));
                    }

                    part.CopyTo(_line.AsSpan(_lineLength));
                    _lineLength += part.Length;
                }
            }

            if (newline < 0)
            {
                break;
            }

            first |= EndLine();
            data = data[(newline + 1)..];
        }

        return first;
    }

    private bool EndLine()
    {
        var line = _line.AsSpan(0, _lineLength).TrimEnd((byte)'\r');
        var tooLong = _lineTooLong;
        _lineLength = 0;
        _lineTooLong = false;
        if (tooLong || !line.StartsWith(DataPrefix))
        {
            return false;
        }

        var payload = line[DataPrefix.Length..].Trim((byte)' ');
        if (payload.SequenceEqual(Done))
        {
            return false;
        }

        var first = !SawEvent;
        SawEvent = true;
        if (payload.IndexOf("\"usage\""u8) >= 0 && JsonUsageScanner.Read(payload) is { } usage)
        {
            Usage = usage;
        }

        return first;
    }
}
