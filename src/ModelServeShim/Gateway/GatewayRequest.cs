using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace ModelServeShim.Gateway;

/// <summary>A request body read once into memory, and the <c>model</c> it names.</summary>
/// <param name="Body">The bytes (only the first <paramref name="Length"/> are the body).</param>
/// <param name="Length">The body's length.</param>
/// <param name="Model">The top-level <c>model</c> string, or null when there is none.</param>
/// <param name="ModelToken">Where the <c>model</c> string's JSON token (with its quotes) is in <paramref name="Body"/>.</param>
internal sealed record GatewayRequest(byte[] Body, int Length, string? Model, Range ModelToken)
{
    /// <summary>Why a body was refused.</summary>
    public enum Refusal
    {
        /// <summary>Accepted.</summary>
        None,
        /// <summary>Larger than allowed.</summary>
        TooLarge,
        /// <summary>Not a JSON object.</summary>
        NotJsonObject,
        /// <summary><c>model</c> is there but not a string.</summary>
        ModelNotString,
    }

    /// <summary>Reads the body (at most <paramref name="maxBytes"/>) and finds its top-level <c>model</c>; the rest is not parsed.</summary>
    public static async Task<(GatewayRequest? Request, Refusal Refusal)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, Refusal.TooLarge);
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        var buffer = new byte[(int)Math.Min(request.ContentLength ?? 16 * 1024, maxBytes) + 1];
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length > maxBytes)
                {
                    return (null, Refusal.TooLarge);
                }

                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes + 1L));
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Refusal.TooLarge);
        }

        var (model, token, refusal) = FindModel(buffer.AsSpan(0, length));
        return refusal == Refusal.None ? (new GatewayRequest(buffer, length, model, token), Refusal.None) : (null, refusal);
    }

    /// <summary>
    /// The same request naming <paramref name="modelName"/> instead (a request that named a service by its id goes to a
    /// runtime that knows only its model name); every other byte is kept.
    /// </summary>
    public GatewayRequest WithModel(string modelName)
    {
        var replacement = JsonSerializer.SerializeToUtf8Bytes(modelName);
        var (offset, length) = ModelToken.GetOffsetAndLength(Length);
        var body = new byte[Length - length + replacement.Length];
        Body.AsSpan(0, offset).CopyTo(body);
        replacement.CopyTo(body, offset);
        Body.AsSpan(offset + length, Length - offset - length).CopyTo(body.AsSpan(offset + replacement.Length));
        return new GatewayRequest(body, body.Length, modelName, new Range(offset, offset + replacement.Length));
    }

    private static (string? Model, Range Token, Refusal Refusal) FindModel(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, default, Refusal.NotJsonObject);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                reader.Read();
                if (isModel)
                {
                    return reader.TokenType == JsonTokenType.String ? (reader.GetString(), new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed), Refusal.None)
                        : reader.TokenType == JsonTokenType.Null ? (null, default, Refusal.None)
                        : (null, default, Refusal.ModelNotString);
                }

                reader.Skip();
            }

            return (null, default, Refusal.None);
        }
        catch (JsonException)
        {
            return (null, default, Refusal.NotJsonObject);
        }
    }

    /// <summary>A fresh stream over the body, for one forwarding attempt.</summary>
    public Stream OpenBody() => new MemoryStream(Body, 0, Length, writable: false);
}
