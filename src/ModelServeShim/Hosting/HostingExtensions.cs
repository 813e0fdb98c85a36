using ModelServeShim.Apis.Elsa;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ModelServeShim.ControlPlane;
using ModelServeShim.Gateway;
using ModelServeShim.Plugins;
using ModelServeShim.Security;
using Prometheus;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Hosting;

/// <summary>The host's wiring.</summary>
public static class HostingExtensions
{
    /// <summary>Registers everything the server needs.</summary>
    public static WebApplicationBuilder AddModelServeShim(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration.UseLayeredAppSettings();

        services.AddOptions<ShimOptions>().BindConfiguration(ShimOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ShimOptions>, ShimOptionsValidator>();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        // Settings are read once here to place the data and bind the port; they are validated above at start.
        var shim = configuration.GetSection(ShimOptions.Section).Get<ShimOptions>() ?? new ShimOptions();
        Directory.CreateDirectory(shim.DataDirFullPath);
        if (!builder.Environment.IsEnvironment("Testing"))
        {
            var host = shim.ListenAddress == "*" ? "+" : shim.ListenAddress.Contains(':', StringComparison.Ordinal) ? $"[{shim.ListenAddress}]" : shim.ListenAddress;
            builder.WebHost.UseUrls($"http://{host}:{shim.Port}");
        }

        var databasePath = Path.Combine(shim.DataDirFullPath, "modelserveshim.db");
        services.AddWorkflowRuntime(configuration, databasePath);
        services.AddSingleton<ModelServeShim.Workflows.Replicas.IReplicaCheck, LocalShimletReplicaCheck>();
        services.AddBuiltinWorkflows();
        services.AddDefaultsCheck();
        services.AddControlPlane(configuration, databasePath);
        services.AddPlugins();
        services.AddGateway();
        services.AddElsaApi(configuration);

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.RemoveKeyRingWarmUp();
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.View, p => p.RequireRole(Roles.Viewer))
            .AddPolicy(Policies.Operate, p => p.RequireRole(Roles.Operator))
            .AddPolicy(Policies.Administer, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Consume, p => p.RequireRole(Roles.Consumer, Roles.Viewer));

        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
            c.ProblemDetails.Extensions["traceId"] = c.HttpContext.TraceIdentifier);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        });
        services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = 1024 * 1024);
        services.AddOpenApi();
        services.AddHostedService<StartupBanner>();
        return builder;
    }

    /// <summary>The hosted service ASP.NET Core's data protection registers to load its key ring at start.</summary>
    internal const string KeyRingWarmUpService = "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService";

    /// <summary>
    /// Authentication registers ASP.NET Core's data protection, whose hosted service loads the key ring at start (and
    /// on a first start creates a key and writes it under the user's home): XML, file I/O and cryptography, about 500
    /// JIT-compiled methods before <c>/healthz</c> answers (docs/benchmarks.md, "One binary", run 7). Nothing in this
    /// server protects data with it (API keys, no cookies, no antiforgery tokens), so the warm-up is removed; data
    /// protection itself stays registered and loads its keys on first use.
    /// </summary>
    private static void RemoveKeyRingWarmUp(this IServiceCollection services)
    {
        var warmUp = services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.FullName == KeyRingWarmUpService).ToList();
        foreach (var descriptor in warmUp)
        {
            services.Remove(descriptor);
        }
    }

    /// <summary>Adds the middleware.</summary>
    public static WebApplication UseModelServeShim(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException b ? b.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseCors();
        app.UseElsaStudio();
        app.UseWebUi();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseHttpMetrics();
        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization(Policies.View);
        app.MapMetrics("/metrics").RequireAuthorization(Policies.View);
        return app;
    }

    private sealed class StartupBanner(IOptions<ShimOptions> shim, IOptions<AuthOptions> auth, IHostApplicationLifetime lifetime, StateStore store, ILogger<StartupBanner> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Where the start went (docs/benchmarks.md, "One binary"): Debug level, category ModelServeShim.Hosting.
            if (logger.IsEnabled(LogLevel.Debug))
            {
                lifetime.ApplicationStarted.Register(() =>
                {
                    using var process = System.Diagnostics.Process.GetCurrentProcess();
                    logger.LogDebug(
                        "Started in {Milliseconds:F0} ms since the process began: {JitMethods} methods JIT-compiled in {JitMilliseconds:F0} ms, {Allocated} MB allocated, working set {WorkingSet} MB",
                        (DateTime.Now - process.StartTime).TotalMilliseconds,
                        System.Runtime.JitInfo.GetCompiledMethodCount(),
                        System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,
                        GC.GetTotalAllocatedBytes() / (1024 * 1024),
                        Environment.WorkingSet / (1024 * 1024));
                });
            }

            logger.LogInformation("{Version} listening on {Address}:{Port}; data in {DataDir}; state in {Store}; default shimlet {Shimlet}, pipeline {Pipeline}",
                CommandLine.VersionLine, shim.Value.ListenAddress, shim.Value.Port, shim.Value.DataDirFullPath, store.Description, shim.Value.Shimlet, shim.Value.Pipeline);
            if (auth.Value.ApiKeys.Count == 0)
            {
                logger.LogWarning("No API keys configured: accepting anonymous requests (as admin) because the server listens on loopback only. Configure Auth:ApiKeys before exposing it.");
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
