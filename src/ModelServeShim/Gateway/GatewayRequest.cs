using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace ModelServeShim.Gateway;

/// <summary>A request body read once into memory, and the <c>model</c> it names.</summary>
/// <param name="Body">The bytes (only the first <paramref name="Length"/> are the body).</param>
/// <param name="Length">The body's length.</param>
/// <param name="Model">The top-level <c>model</c> string, or null when there is none.</param>
internal sealed record GatewayRequest(byte[] Body, int Length, string? Model)
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

        var (model, refusal) = FindModel(buffer.AsSpan(0, length));
        return refusal == Refusal.None ? (new GatewayRequest(buffer, length, model), Refusal.None) : (null, refusal);
    }

    private static (string? Model, Refusal Refusal) FindModel(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, Refusal.NotJsonObject);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                reader.Read();
                if (isModel)
                {
                    return reader.TokenType == JsonTokenType.String ? (reader.GetString(), Refusal.None)
                        : reader.TokenType == JsonTokenType.Null ? (null, Refusal.None)
                        : (null, Refusal.ModelNotString);
                }

                reader.Skip();
            }

            return (null, Refusal.None);
        }
        catch (JsonException)
        {
            return (null, Refusal.NotJsonObject);
        }
    }

    /// <summary>A fresh stream over the body, for one forwarding attempt.</summary>
    public Stream OpenBody() => new MemoryStream(Body, 0, Length, writable: false);
}
