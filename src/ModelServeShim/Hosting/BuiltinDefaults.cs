using System.Reflection;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Workflows.Definitions;

namespace ModelServeShim.Hosting;

/// <summary>
/// What the binary carries inside itself, so it starts from any folder: the default configuration
/// (<c>appsettings.json</c>) and the built-in pipelines (<c>workflows/*.json</c>), both embedded resources of the host.
/// Files on disk add to and override them:
/// embedded <c>appsettings.json</c> &lt; <c>appsettings.json</c> next to the binary &lt; <c>appsettings.json</c> in the
/// working directory &lt; environment variables &lt; flags; and a file of the workflow folder (<c>Workflows:Directory</c>,
/// <c>--workflows-dir</c>) replaces the built-in file of the same name.
/// </summary>
public static class BuiltinDefaults
{
    /// <summary>The embedded default configuration's resource name.</summary>
    public const string AppSettingsResource = "appsettings.json";

    /// <summary>The prefix of the embedded pipelines' resource names (<c>workflows/opensourcellm.json</c>).</summary>
    public const string WorkflowsResourcePrefix = "workflows/";

    private static Assembly Host => typeof(BuiltinDefaults).Assembly;

    /// <summary>
    /// Replaces the default <c>appsettings.json</c> source (the working directory's) with the layers above, in place, so
    /// environment variables, flags and anything a test host adds keep their higher precedence.
    /// </summary>
    public static ConfigurationManager UseLayeredAppSettings(this ConfigurationManager configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var sources = (IList<IConfigurationSource>)configuration.Sources;
        var index = sources.ToList().FindIndex(s => s is JsonConfigurationSource { Path: AppSettingsResource });
        if (index < 0)
        {
            index = 0;
        }
        else
        {
            sources.RemoveAt(index);
        }

        var binaryFolder = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        var workingFolder = Path.TrimEndingDirectorySeparator(Directory.GetCurrentDirectory());
        var layers = new List<IConfigurationSource>();
        if (Host.GetManifestResourceInfo(AppSettingsResource) is not null)
        {
            // A file provider over the resources (not a stream source): the configuration is reloaded on every change of
            // its sources, and each load opens the resource again.
            layers.Add(new JsonConfigurationSource
            {
                Path = AppSettingsResource,
                Optional = false,
                ReloadOnChange = false,
                FileProvider = new Microsoft.Extensions.FileProviders.EmbeddedFileProvider(Host, baseNamespace: ""),
            });
        }

        layers.Add(FileLayer(binaryFolder));
        if (!string.Equals(binaryFolder, workingFolder, StringComparison.Ordinal))
        {
            layers.Add(FileLayer(workingFolder));
        }

        for (var i = 0; i < layers.Count; i++)
        {
            sources.Insert(index + i, layers[i]);
        }

        return configuration;
    }

    /// <summary>Registers the embedded pipelines with the workflow file loader.</summary>
    public static IServiceCollection AddBuiltinWorkflows(this IServiceCollection services)
    {
        foreach (var resource in Host.GetManifestResourceNames().Where(n => n.StartsWith(WorkflowsResourcePrefix, StringComparison.Ordinal)))
        {
            services.AddSingleton(new BuiltinWorkflowFile(resource[WorkflowsResourcePrefix.Length..], () => Host.GetManifestResourceStream(resource)!));
        }

        return services;
    }

    /// <summary>Stops the start when the default pipeline or shimlet does not exist (after the workflow files are loaded).</summary>
    public static IServiceCollection AddDefaultsCheck(this IServiceCollection services) => services.AddHostedService<DefaultsCheck>();

    private static JsonConfigurationSource FileLayer(string folder)
    {
        var source = new JsonConfigurationSource { Path = AppSettingsResource, Optional = true, ReloadOnChange = false };
        source.FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(folder);
        return source;
    }

    /// <summary>
    /// The default pipeline (<c>--pipeline</c>) must be a loaded definition and the default shimlet (<c>--shimlet</c>) a
    /// registered one; otherwise every deploy without its own would be refused later. Reported like any invalid
    /// setting (exit code 2).
    /// </summary>
    private sealed class DefaultsCheck(IOptions<ShimOptions> options, DefinitionStore definitions, IShimletProvider shimlets, WorkflowFileLoader files) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var shim = options.Value;
            var failures = new List<string>();
            if (await definitions.GetAsync(shim.Pipeline, null, cancellationToken) is null)
            {
                var known = (await definitions.ListLatestAsync(cancellationToken)).Select(d => d.DefinitionId).Order(StringComparer.Ordinal);
                failures.Add($"ModelServeShim:Pipeline (--pipeline) '{shim.Pipeline}' is not a loaded pipeline: the built-in ones and {files.DirectoryPath} "
                    + $"hold {string.Join(", ", known)}. Add {shim.Pipeline}.json to the workflow folder (--workflows-dir) or choose one of these.");
            }

            if (shimlets.Find(shim.Shimlet) is null)
            {
                failures.Add($"ModelServeShim:Shimlet (--shimlet) '{shim.Shimlet}' is not a shimlet: the server has {string.Join(", ", shimlets.Names)} "
                    + "(a plugin's shimlet is loaded after start: name it in the deploy request's \"shimlet\" field instead).");
            }

            if (failures.Count > 0)
            {
                throw new OptionsValidationException(ShimOptions.Section, typeof(ShimOptions), failures);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
