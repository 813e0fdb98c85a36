using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ModelServeShim.Gateway;

/// <summary>An error in the shape OpenAI clients parse: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAiErrorResponse([property: JsonPropertyName("error")] OpenAiError Error);

/// <summary>The error itself.</summary>
/// <param name="Message">What went wrong and what to change.</param>
/// <param name="Type"><c>invalid_request_error</c>, <c>authentication_error</c>, <c>permission_error</c> or <c>server_error</c>.</param>
/// <param name="Param">The request field at fault, if any.</param>
/// <param name="Code">A stable code (<c>model_not_found</c>, <c>model_not_ready</c>, …).</param>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>The gateway's error answers, each with a stable code.</summary>
public static class OpenAiErrors
{
    /// <summary>The error types.</summary>
    public static class Types
    {
        /// <summary>The request is wrong.</summary>
        public const string InvalidRequest = "invalid_request_error";

        /// <summary>No key, or a key that is not valid.</summary>
        public const string Authentication = "authentication_error";

        /// <summary>The key may not use this model.</summary>
        public const string Permission = "permission_error";

        /// <summary>The service cannot answer now.</summary>
        public const string Server = "server_error";
    }

    /// <summary>The error codes.</summary>
    public static class Codes
    {
        /// <summary>No service serves the model.</summary>
        public const string ModelNotFound = "model_not_found";

        /// <summary>The key is limited to other models.</summary>
        public const string ModelNotAllowed = "model_not_allowed";

        /// <summary>The service is deploying, checking health, scaled to zero or has no ready replica.</summary>
        public const string ModelNotReady = "model_not_ready";

        /// <summary>No replica of the service answered.</summary>
        public const string RuntimeUnreachable = "runtime_unreachable";

        /// <summary>The way to the runtime refused the request for a reason retrying cannot fix (e.g. a missing RBAC permission on the API server's service proxy).</summary>
        public const string RuntimeRouteRefused = "runtime_route_refused";

        /// <summary>The body is larger than <see cref="GatewayOptions.MaxRequestBodyBytes"/>.</summary>
        public const string RequestTooLarge = "request_too_large";

        /// <summary>The body is not a JSON object.</summary>
        public const string InvalidJson = "invalid_json";

        /// <summary>The body names no model.</summary>
        public const string MissingModel = "missing_model";

        /// <summary>No key, or an invalid one.</summary>
        public const string InvalidApiKey = "invalid_api_key";
    }

    /// <summary>An error answer with the given status.</summary>
    public static JsonHttpResult<OpenAiErrorResponse> Result(int status, string type, string? code, string? param, string message) =>
        TypedResults.Json(new OpenAiErrorResponse(new OpenAiError(message, type, param, code)), statusCode: status);
}
