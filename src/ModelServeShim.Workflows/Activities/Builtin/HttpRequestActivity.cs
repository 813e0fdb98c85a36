using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities.Builtin;

/// <summary>Calls an HTTP endpoint.</summary>
[Activity("ModelServeShim.HttpRequest", Category = "Primitives", DisplayName = "HTTP request", Description = "Sends an HTTP request; 5xx and 429 answers are retryable failures, other non-success answers are not.")]
[Output("statusCode", "integer", Description = "The response status code.")]
[Output("body", "string", Description = "The response body (first 64 KiB).")]
public sealed class HttpRequestActivity(IHttpClientFactory httpClients) : Activity
{
    private const int MaxBody = 64 * 1024;

    /// <summary>The URL.</summary>
    [Input(Required = true, Description = "An absolute http or https URL.", UiHint = "singleline")]
    public string Url { get; set; } = "";

    /// <summary>The method.</summary>
    [Input(DefaultJson = "\"GET\"", Description = "GET, POST, PUT, PATCH or DELETE.")]
    public string Method { get; set; } = "GET";

    /// <summary>The body.</summary>
    [Input(Description = "The request body, sent as JSON text.", UiHint = "json")]
    public string? Body { get; set; }

    /// <summary>Headers.</summary>
    [Input(Description = "Request headers.", UiHint = "json")]
    public IReadOnlyDictionary<string, string>? Headers { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw StepException.NonRetryable("InvalidUrl", $"'{Url}' is not an absolute http(s) URL.");
        }

        var method = Method.ToUpperInvariant() switch
        {
            "GET" => HttpMethod.Get,
            "POST" => HttpMethod.Post,
            "PUT" => HttpMethod.Put,
            "PATCH" => HttpMethod.Patch,
            "DELETE" => HttpMethod.Delete,
            _ => throw StepException.NonRetryable("InvalidMethod", $"Method '{Method}' is not supported: use GET, POST, PUT, PATCH or DELETE."),
        };
        using var request = new HttpRequestMessage(method, uri);
        if (Body is not null)
        {
            request.Content = new StringContent(Body, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in Headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var client = httpClients.CreateClient(nameof(HttpRequestActivity));
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.CancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new StepException("HttpUnreachable", $"{method} {uri} failed: {e.Message}", retryable: true, e);
        }

        using (response)
        {
            var text = await ReadLimitedAsync(response, context.CancellationToken);
            context.SetOutput("statusCode", (int)response.StatusCode);
            context.SetOutput("body", JsonValue.Create(text));
            if (!response.IsSuccessStatusCode)
            {
                var retryable = (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests;
                throw new StepException("HttpStatus", $"{method} {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}.", retryable);
            }
        }

        return ActivityResult.Done;
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxBody];
        var total = 0;
        int read;
        while (total < MaxBody && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }
}
