using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace ModelServeShim.Hosting;

/// <summary>The server's own settings (section <c>ModelServeShim</c>; flags <c>--port</c>, <c>--shimlet</c>, …).</summary>
public sealed class ShimOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "ModelServeShim";

    /// <summary>The HTTP port (<c>--port</c>). Default 8080.</summary>
    [Range(1, 65535, ErrorMessage = "ModelServeShim:Port (--port) must be between 1 and 65535.")]
    public int Port { get; set; } = 8080;

    /// <summary>The address to listen on (<c>--listen</c>): <c>localhost</c> (default), an IP, or <c>*</c> for all.</summary>
    [Required(ErrorMessage = "ModelServeShim:ListenAddress (--listen) is required.")]
    public string ListenAddress { get; set; } = "localhost";

    /// <summary>The default shimlet for deployments (<c>--shimlet</c>). Default <c>local</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9-]{0,62}$", ErrorMessage = "ModelServeShim:Shimlet (--shimlet) must be a lower-case name such as k8s, local or docker.")]
    public string Shimlet { get; set; } = "local";

    /// <summary>The default pipeline for deployments (<c>--pipeline</c>). Default <c>opensourcellm</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$", ErrorMessage = "ModelServeShim:Pipeline (--pipeline) must be a workflow definition id such as opensourcellm.")]
    public string Pipeline { get; set; } = "opensourcellm";

    /// <summary>Where state lives (<c>--data-dir</c>); default <c>data</c> under the working directory.</summary>
    [Required]
    public string DataDir { get; set; } = "data";

    /// <summary>The data directory, absolute.</summary>
    public string DataDirFullPath => Path.GetFullPath(DataDir);

    /// <summary>Whether the server listens on loopback only.</summary>
    public bool IsLoopbackOnly =>
        ListenAddress.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(ListenAddress, out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>Cross-field checks of <see cref="ShimOptions"/>.</summary>
public sealed class ShimOptionsValidator : IValidateOptions<ShimOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ShimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ListenAddress != "*" && !options.IsLoopbackOnly && !IPAddress.TryParse(options.ListenAddress, out _))
        {
            return ValidateOptionsResult.Fail($"ModelServeShim:ListenAddress '{options.ListenAddress}' is not 'localhost', '*' or an IP address.");
        }

        if (options.DataDir.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return ValidateOptionsResult.Fail($"ModelServeShim:DataDir '{options.DataDir}' is not a valid path.");
        }

        return ValidateOptionsResult.Success;
    }
}
