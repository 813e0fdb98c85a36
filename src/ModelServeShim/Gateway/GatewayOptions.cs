using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Gateway;

/// <summary>The OpenAI-compatible gateway's settings (section <c>Gateway</c>; docs/gateway.md).</summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Gateway";

    /// <summary>The largest request body accepted (bytes); a larger one is answered 413. Default 16 MiB.</summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How long a service's replica list (from its shimlet's status) is used before it is read again. A request that
    /// finds it older triggers a refresh in the background and is served with the list it has. Default 3 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan StatusRefreshInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the services are trusted between reads of the store (changes are also applied as they happen). Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ServiceListRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a replica that refused a connection or answered 502/504 is left out. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ReplicaCooldown { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>Retry-After</c> sent with a 503 while a service is deploying, checking health or has no ready replica. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long connecting to a runtime may take before the next replica is tried. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a forwarded request may go without any bytes moving (a long non-streamed generation is silent until it
    /// ends). Default 10 min.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long reading a service's status from its shimlet may take. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan StatusTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
