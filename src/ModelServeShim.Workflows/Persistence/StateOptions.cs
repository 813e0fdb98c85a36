using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>Which database holds the state.</summary>
public enum StateProvider
{
    /// <summary>One SQLite file in the data directory (the embedded default, one machine).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (several replicas can share it).</summary>
    Postgres,
}

/// <summary>
/// Where the runtime's and the control plane's state lives (section <c>State</c>; flag <c>--database</c> sets
/// <see cref="Provider"/>). The PostgreSQL password never sits in the connection string: it comes from
/// <see cref="Password"/> (set it through the environment, <c>State__Password</c>) or <see cref="PasswordFile"/>.
/// </summary>
public sealed class StateOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "State";

    /// <summary><c>sqlite</c> (default) or <c>postgres</c> (<c>--database</c>).</summary>
    public StateProvider Provider { get; set; } = StateProvider.Sqlite;

    /// <summary>
    /// The PostgreSQL connection string without a password, e.g. <c>Host=db;Port=5432;Database=shim;Username=shim</c>.
    /// Required with <c>postgres</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The PostgreSQL password; set it through the environment (<c>State__Password</c>), never in a file under version control.</summary>
    public string? Password { get; set; }

    /// <summary>A file holding the PostgreSQL password (a mounted secret); read again whenever a new connection opens, so a rotated secret is picked up.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>How long the start waits for an unreachable database (retrying with backoff) before it gives up. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "State:StartTimeout must be between 1 second and 1 hour.")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The timeout of one connection attempt, in seconds. Default 5.</summary>
    [Range(1, 300, ErrorMessage = "State:ConnectTimeoutSeconds must be between 1 and 300.")]
    public int ConnectTimeoutSeconds { get; set; } = 5;
}

/// <summary>Cross-field checks of <see cref="StateOptions"/>.</summary>
public sealed class StateOptionsValidator : IValidateOptions<StateOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, StateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Provider != StateProvider.Postgres)
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail(
                "State:ConnectionString is required with State:Provider=postgres (--database=postgres), e.g. Host=db;Port=5432;Database=shim;Username=shim.");
        }

        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            // The parser's message names the keyword, never a value.
            return ValidateOptionsResult.Fail($"State:ConnectionString is not a PostgreSQL connection string: {e.Message}");
        }

        if (!string.IsNullOrEmpty(parsed.Password))
        {
            return ValidateOptionsResult.Fail(
                "State:ConnectionString must not contain the password: set State:Password through the environment (State__Password) or State:PasswordFile.");
        }

        if (string.IsNullOrWhiteSpace(parsed.Host) || string.IsNullOrWhiteSpace(parsed.Database) || string.IsNullOrWhiteSpace(parsed.Username))
        {
            return ValidateOptionsResult.Fail("State:ConnectionString must name Host, Database and Username.");
        }

        if (options.Password is not null && options.PasswordFile is not null)
        {
            return ValidateOptionsResult.Fail("Set State:Password or State:PasswordFile, not both.");
        }

        if (options.PasswordFile is { } file && !File.Exists(file))
        {
            return ValidateOptionsResult.Fail($"State:PasswordFile '{file}' does not exist.");
        }

        return ValidateOptionsResult.Success;
    }
}
