using Microsoft.Extensions.Options;

namespace ModelServeShim.Hosting;

/// <summary>Pulls the settings' validation messages out of a start-up failure.</summary>
public static class ConfigurationErrors
{
    /// <summary>The distinct validation failures inside <paramref name="e"/>; empty when it is not a configuration error.</summary>
    public static IReadOnlyList<string> From(Exception e) => e switch
    {
        OptionsValidationException o => [.. o.Failures.Distinct()],
        AggregateException a => [.. a.Flatten().InnerExceptions.SelectMany(From).Distinct()],
        _ => [],
    };
}
