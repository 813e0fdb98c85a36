using ModelServeShim.Workflows.Activities;

namespace ModelServeShim.Apis.Elsa;

/// <summary>Elsa Studio settings (section <c>ElsaStudio</c>).</summary>
public sealed class ElsaStudioOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "ElsaStudio";

    /// <summary>
    /// Origins (<c>https://studio.example.org</c>) of Elsa Studio pages served elsewhere that may call <c>/elsa/api</c>;
    /// empty (the default): only pages of this host (<c>/elsa-studio/</c>), which need no CORS.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// The folder with Elsa Studio's files (<c>scripts/install-elsa-studio.sh</c> fills it); default <c>elsa-studio</c>
    /// next to the binary. A relative path resolves against the working directory. Absent: <c>/elsa-studio/</c> answers
    /// a page that says how to install it.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>The folder's full path.</summary>
    public string FullPath => Path.GetFullPath(string.IsNullOrWhiteSpace(Directory) ? Path.Combine(AppContext.BaseDirectory, "elsa-studio") : Directory);
}

/// <summary>Registration of the Elsa 3 API.</summary>
public static class ElsaApiExtensions
{
    /// <summary>The CORS policy of <c>/elsa/api</c>.</summary>
    public const string CorsPolicy = "elsa-studio";

    /// <summary>The headers Studio sends (its preflight asks for them).</summary>
    public static readonly string[] AllowedHeaders = ["Authorization", "Content-Type", "X-Tenant-Id"];

    /// <summary>Whether <paramref name="value"/> is an http(s) origin: scheme, host and optional port, nothing else.</summary>
    public static bool IsOrigin(string value) =>
        Uri.TryCreate(value?.TrimEnd('/'), UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;

    /// <summary>Adds the mapper and the CORS policy for configured Studio origins.</summary>
    public static IServiceCollection AddElsaApi(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(ElsaStudioOptions.Section).Get<ElsaStudioOptions>() ?? new ElsaStudioOptions();
        services.AddOptions<ElsaStudioOptions>().BindConfiguration(ElsaStudioOptions.Section)
            .Validate(o => o.AllowedOrigins.All(IsOrigin),
                "ElsaStudio:AllowedOrigins: each entry must be an origin, scheme://host[:port] with no path (e.g. https://studio.example.org); '*' is not allowed.")
            .ValidateOnStart();
        services.AddSingleton(sp => new ElsaDefinitionMapper(sp.GetRequiredService<ActivityRegistry>()));
        var origins = options.AllowedOrigins.Select(o => o.TrimEnd('/')).Where(o => o.Length > 0).ToArray();
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            policy.WithHeaders(AllowedHeaders).WithMethods("GET", "POST", "PUT", "DELETE").SetPreflightMaxAge(TimeSpan.FromMinutes(10));
            if (origins.Length > 0)
            {
                policy.WithOrigins(origins);
            }
            else
            {
                policy.SetIsOriginAllowed(_ => false);
            }
        }));
        return services;
    }
}
