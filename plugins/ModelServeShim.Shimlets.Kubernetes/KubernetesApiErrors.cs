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
        return step;
    }

    /// <summary>A retryable step exception for a call that never got an answer.</summary>
    public static StepException Unreachable(Exception exception, string action) =>
        new(KubernetesErrorTypes.ApiUnavailable, $"The Kubernetes API could not be reached to {action}: {exception.Message}", retryable: true, exception);
}
