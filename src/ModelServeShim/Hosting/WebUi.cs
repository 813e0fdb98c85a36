using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace ModelServeShim.Hosting;

/// <summary>Web UI settings (section <c>Ui</c>).</summary>
public sealed class UiOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Ui";

    /// <summary>The embedded UI's folder inside the host assembly (the single-file build embeds <c>designer/dist</c> there).</summary>
    public const string EmbeddedRoot = "wwwroot";

    /// <summary>
    /// The built web UI (<c>designer/dist</c>: <c>index.html</c> and <c>assets/</c>); default <c>wwwroot</c> next to the
    /// host's binary, where the build copies it, else the copy embedded in the binary (single-file build). A relative
    /// path resolves against the working directory.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>The directory's full path.</summary>
    public string FullPath => Path.GetFullPath(string.IsNullOrWhiteSpace(Directory) ? Path.Combine(AppContext.BaseDirectory, EmbeddedRoot) : Directory);

    /// <summary>
    /// Where the UI's files come from: the configured or default directory when it exists; with no <c>Ui:Directory</c>
    /// set and no <c>wwwroot</c> next to the binary, the files embedded in the binary when it has them; else nothing.
    /// </summary>
    public IFileProvider CreateFileProvider(out string description)
    {
        var directory = FullPath;
        if (System.IO.Directory.Exists(directory))
        {
            description = directory;
            return new PhysicalFileProvider(directory);
        }

        var host = typeof(UiOptions).Assembly;
        if (string.IsNullOrWhiteSpace(Directory) && host.GetManifestResourceInfo(EmbeddedManifest) is not null)
        {
            description = "the files embedded in the binary";
            return new DeferredFileProvider(() => new ManifestEmbeddedFileProvider(host, EmbeddedRoot));
        }

        description = $"{directory} (missing)";
        return new NullFileProvider();
    }

    /// <summary>The manifest Microsoft.Extensions.FileProviders.Embedded writes when files are embedded (EmbedWebUi).</summary>
    private const string EmbeddedManifest = "Microsoft.Extensions.FileProviders.Embedded.Manifest.xml";
}

/// <summary>
/// A file provider created on first use: the embedded UI's provider parses its XML manifest when constructed, which
/// JIT-compiles the XML reader (~200 methods) before the server could answer <c>/healthz</c> (docs/benchmarks.md, "One
/// binary", run 7); deferred, that happens at the first request for a UI file.
/// </summary>
internal sealed class DeferredFileProvider(Func<IFileProvider> create) : IFileProvider
{
    private readonly Lazy<IFileProvider> _provider = new(create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <inheritdoc />
    public IFileInfo GetFileInfo(string subpath) => _provider.Value.GetFileInfo(subpath);

    /// <inheritdoc />
    public IDirectoryContents GetDirectoryContents(string subpath) => _provider.Value.GetDirectoryContents(subpath);

    /// <inheritdoc />
    public Microsoft.Extensions.Primitives.IChangeToken Watch(string filter) => _provider.Value.Watch(filter);
}

/// <summary>
/// Serves the web UI without authentication (the app itself asks for an API key): its files, with long-lived caching
/// for the content-hashed <c>/assets/</c> and none for <c>index.html</c>, and <c>index.html</c> for any other GET of a
/// path without a file extension (client-side routes). The API, OpenAPI, metrics and health paths are never UI paths,
/// so an unknown <c>/api/...</c> path keeps answering a 404 problem. Files are read only through a
/// <see cref="PhysicalFileProvider"/> rooted at the UI directory, which refuses paths that leave it, or, in the single
/// file with no UI directory next to it, a <see cref="ManifestEmbeddedFileProvider"/> over the embedded copy.
/// </summary>
public static class WebUi
{
    /// <summary>The Content-Security-Policy of UI responses (React Flow needs inline styles).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>The answer when the UI directory holds no index.html.</summary>
    public const string NotBuiltMessage =
        "The web UI is not built. Build it with 'cd designer && npm ci && npm run build' (needs Node.js 20+ and npm) and point Ui:Directory "
        + "at designer/dist, or build the host without -p:SkipDesignerBuild=true, which copies it into wwwroot next to the binary.\n";

    private static readonly string[] NotUiPrefixes = ["/api", "/elsa", "/openapi", "/metrics", "/healthz"];

    /// <summary>Adds the UI's middleware; call before authentication, so UI files need no key.</summary>
    public static WebApplication UseWebUi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Configuration.GetSection(UiOptions.Section).Get<UiOptions>() ?? new UiOptions();
        var files = options.CreateFileProvider(out var source);
        app.Logger.LogDebug("Serving the web UI from {Source}", source);

        var staticFiles = new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = IsAsset(c.Context.Request.Path)
                ? "public, max-age=31536000, immutable"
                : "no-cache",
        };

        app.UseWhen(IsUiRequest, ui =>
        {
            ui.Use((context, next) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                return next(context);
            });
            ui.UseStaticFiles(staticFiles);
            ui.Use(async (context, next) =>
            {
                // Client-side routes: a GET or HEAD of a path without a file extension is the app's index.html.
                var request = context.Request;
                if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) || Path.HasExtension(request.Path.Value))
                {
                    await next(context);
                    return;
                }

                var index = files.GetFileInfo("index.html");
                if (!index.Exists || index.IsDirectory)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    context.Response.Headers.CacheControl = "no-cache";
                    await context.Response.WriteAsync(HttpMethods.IsHead(request.Method) ? "" : NotBuiltMessage, context.RequestAborted);
                    return;
                }

                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "text/html; charset=utf-8";
                context.Response.ContentLength = index.Length;
                context.Response.Headers.CacheControl = "no-cache";
                if (HttpMethods.IsGet(request.Method))
                {
                    await context.Response.SendFileAsync(index, context.RequestAborted);
                }
            });
        });
        return app;
    }

    /// <summary>A request the UI may answer: not an API, OpenAPI, metrics or health path, and not one an endpoint matched.</summary>
    private static bool IsUiRequest(HttpContext context) =>
        context.GetEndpoint() is null
        && !NotUiPrefixes.Any(p => context.Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    private static bool IsAsset(PathString path) => path.StartsWithSegments("/assets", StringComparison.OrdinalIgnoreCase);
}
