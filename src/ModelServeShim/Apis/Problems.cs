using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Apis;

/// <summary>RFC 7807 problem responses that name the field and the fix.</summary>
internal static class Problems
{
    public static ProblemHttpResult Validation(string title, IReadOnlyList<ValidationError> errors) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: title,
            detail: errors.Count == 1 ? $"{errors[0].Path}: {errors[0].Message}" : $"{errors.Count} problems; see 'errors'. First: {errors[0].Path}: {errors[0].Message}",
            extensions: new Dictionary<string, object?> { ["errors"] = errors });

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);

    public static ProblemHttpResult Conflict(string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail, extensions: extensions);

    public static ProblemHttpResult BadRequest(string field, string detail) =>
        Validation("Invalid request", [new ValidationError(field, detail)]);

    /// <summary>Reads a body up to <paramref name="maxBytes"/>; null when it is larger.</summary>
    public static async Task<string?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total <= maxBytes && (read = await request.Body.ReadAsync(buffer.AsMemory(total, buffer.Length - total), cancellationToken)) > 0)
        {
            total += read;
        }

        return total > maxBytes ? null : Encoding.UTF8.GetString(buffer, 0, total);
    }
}
