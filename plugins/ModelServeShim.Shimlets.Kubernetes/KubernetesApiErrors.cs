using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Turns Kubernetes API failures into step exceptions, by status code.</summary>
internal static class KubernetesApiErrors
{
    /// <summary>The <see cref="StepException.Details"/> key of the delay a <c>Retry-After</c> header asked for, in seconds.</summary>
    public const string RetryAfterSecondsDetail = "retryAfterSeconds";

    /// <summary>The Status body of a failed call, when the server sent one.</summary>
    public static V1Status? ReadStatus(HttpOperationException exception)
    {
        var content = exception.Response?.Content;
        if (string.IsNullOrWhiteSpace(content))
        {
            return null;
        }

        try
        {
            return KubernetesJson.Deserialize<V1Status>(content);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A step exception for a failed call; retryable only when another attempt may succeed.</summary>
    public static StepException From(HttpOperationException exception, string action)
    {
        var code = exception.Response?.StatusCode ?? 0;
        var serverMessage = ReadStatus(exception)?.Message ?? exception.Response?.ReasonPhrase ?? exception.Message;
        var (type, retryable) = code switch
        {
            HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity or HttpStatusCode.UnsupportedMediaType
                => (KubernetesErrorTypes.InvalidResource, false),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => (KubernetesErrorTypes.Forbidden, false),
            HttpStatusCode.NotFound => (KubernetesErrorTypes.ServiceNotFound, false),
            _ => (KubernetesErrorTypes.ApiUnavailable, true),
        };
        var hint = type == KubernetesErrorTypes.Forbidden ? " Grant the shimlet's identity the RBAC rules in docs/shimlets/kubernetes.md." : string.Empty;
        var step = new StepException(type, $"Kubernetes refused to {action}: {(int)code} {serverMessage}{hint}", retryable, exception);
        step.Details["statusCode"] = (int)code;
        if (RetryAfter(exception) is { } retryAfter)
        {
            // 429 (API priority and fairness) and some 5xx say when to come back; a retrying caller can use it.
            step.Details[RetryAfterSecondsDetail] = retryAfter;
        }

        return step;
    }

    /// <summary>The delay in seconds a <c>Retry-After</c> header asks for, when there is one.</summary>
    public static int? RetryAfter(HttpOperationException exception)
    {
        var headers = exception.Response?.Headers;
        return headers is not null
            && headers.TryGetValue("Retry-After", out var values)
            && int.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : null;
    }

    /// <summary>A retryable step exception for a call that never got an answer.</summary>
    public static StepException Unreachable(Exception exception, string action) =>
        new(KubernetesErrorTypes.ApiUnavailable, $"The Kubernetes API could not be reached to {action}: {exception.Message}", retryable: true, exception);
}
