using System.IO.Compression;
using System.Net;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;
using ModelServeShim.Apis.Elsa;

namespace ModelServeShim.Hosting;

/// <summary>
/// Serves Elsa Studio, the optional designer add-on, at <c>/elsa-studio/</c> from a folder outside the binary
/// (<see cref="ElsaStudioOptions.Directory"/>, filled by <c>scripts/install-elsa-studio.sh</c>): our own page that embeds
/// Studio's custom element (<c>?definition=&lt;id&gt;</c> the editor, <c>?instance=&lt;id&gt;</c> the instance viewer) with
/// <c>remote-endpoint</c> = this host's <c>/elsa/api</c> and the signed-in user's key, and Studio's files. The folder
/// holds brotli and gzip copies only (the package's originals are dropped for size); a file is answered in the first
/// encoding the client accepts, and a gzip copy is unpacked for a client that accepts neither. Without the folder the
/// page says how to install it. The relaxed Content-Security-Policy Blazor WebAssembly needs
/// (<c>'wasm-unsafe-eval'</c>, Monaco's blob workers) applies to <c>/elsa-studio/</c> only.
/// </summary>
public static class ElsaStudioHosting
{
    /// <summary>The path Studio is served at.</summary>
    public const string BasePath = "/elsa-studio";

    /// <summary>
    /// The Content-Security-Policy of Studio's responses. Besides <c>'wasm-unsafe-eval'</c>, Studio 3.8.2's editor and
    /// instance list render one inline script each (keyboard shortcuts, <c>window.editorHotkeys</c>); they are allowed
    /// by their hashes, not by <c>'unsafe-inline'</c>.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-snlP1jz0gjwc5cTz9ErZcliXuCK63+Mmf68RRCeptgc='; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

    /// <summary>The page's script (external: the CSP allows no inline script).</summary>
    public const string ScriptName = "modelserveshim-studio.js";

    private static readonly FileExtensionContentTypeProvider ContentTypes = new()
    {
        Mappings = { [".dat"] = "application/octet-stream", [".blat"] = "application/octet-stream", [".webmanifest"] = "application/manifest+json" },
    };

    /// <summary>Adds the middleware (before authentication: Studio's files are public, its API calls carry the key).</summary>
    public static WebApplication UseElsaStudio(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Configuration.GetSection(ElsaStudioOptions.Section).Get<ElsaStudioOptions>() ?? new ElsaStudioOptions();
        var root = options.FullPath;
        app.Map(BasePath, studio => studio.Run(context => ServeAsync(context, root)));
        return app;
    }

    private static async Task ServeAsync(HttpContext context, string root)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var path = request.Path.Value ?? "";
        if (path is "" or "/" or "/index.html")
        {
            if (path == "")
            {
                response.Redirect($"{BasePath}/{request.QueryString}");
                return;
            }

            var installed = File.Exists(Path.Combine(root, "_framework", "blazor.webassembly.js.gz"));
            await WriteAsync(context, installed ? 200 : 404, "text/html; charset=utf-8", installed ? Page : NotInstalledPage(root));
            return;
        }

        if (path == "/appsettings.json")
        {
            // Studio's WebAssembly host requires it; its Backend:Url is unused (the element's remote-endpoint wins).
            await WriteAsync(context, 200, "application/json", AppSettings);
            return;
        }

        if (path == "/" + ScriptName)
        {
            await WriteAsync(context, 200, "text/javascript; charset=utf-8", Script);
            return;
        }

        if (!Directory.Exists(root))
        {
            await WriteAsync(context, 404, "text/plain; charset=utf-8", NotInstalledText(root));
            return;
        }

        // Confined to the folder: the provider refuses paths that leave it.
        using var files = new PhysicalFileProvider(root);
        var accepts = request.GetTypedHeaders().AcceptEncoding;
        var contentType = ContentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";
        foreach (var (suffix, encoding) in new[] { ("", (string?)null), (".br", "br"), (".gz", "gzip") })
        {
            var file = files.GetFileInfo(path + suffix);
            if (!file.Exists || file.IsDirectory || (encoding is not null && !Accepts(accepts, encoding)))
            {
                continue;
            }

            response.Headers.CacheControl = "no-cache";
            response.Headers.Vary = HeaderNames.AcceptEncoding;
            response.Headers.LastModified = file.LastModified.ToString("R");
            response.ContentType = contentType;
            if (encoding is not null)
            {
                response.Headers.ContentEncoding = encoding;
            }

            response.ContentLength = file.Length;
            if (HttpMethods.IsGet(request.Method))
            {
                await response.SendFileAsync(file, context.RequestAborted);
            }

            return;
        }

        var gzip = files.GetFileInfo(path + ".gz");
        if (gzip.Exists && !gzip.IsDirectory)
        {
            // A client that accepts no encoding we have: unpack the gzip copy.
            response.Headers.CacheControl = "no-cache";
            response.Headers.Vary = HeaderNames.AcceptEncoding;
            response.ContentType = contentType;
            if (HttpMethods.IsGet(request.Method))
            {
                await using var stream = gzip.CreateReadStream();
                await using var unpacked = new GZipStream(stream, CompressionMode.Decompress);
                await unpacked.CopyToAsync(response.Body, context.RequestAborted);
            }

            return;
        }

        response.StatusCode = StatusCodes.Status404NotFound;
    }

    private static bool Accepts(IList<StringWithQualityHeaderValue> acceptEncoding, string encoding) =>
        acceptEncoding.Any(e => string.Equals(e.Value.Value, encoding, StringComparison.OrdinalIgnoreCase) && (e.Quality ?? 1) > 0);

    private static async Task WriteAsync(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.WriteAsync(body, context.RequestAborted);
        }
    }

    private static string NotInstalledText(string root) =>
        $"Elsa Studio is not installed (looked in {root}). It is an optional add-on outside the binary: run "
        + $"'scripts/install-elsa-studio.sh <folder>' (needs npm) and start the server with --ElsaStudio:Directory=<folder>, "
        + "or put the folder next to the binary as elsa-studio/. See docs/elsa-studio.md.";

    private static string NotInstalledPage(string root) =>
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Elsa Studio is not installed</title></head><body>"
        + "<h1>Elsa Studio is not installed</h1><p>" + WebUtility.HtmlEncode(NotInstalledText(root)) + "</p>"
        + "<p><a href=\"/\">Back to ModelServeShim</a></p></body></html>";

    private const string AppSettings = """{ "Logging": { "LogLevel": { "Default": "Warning" } }, "Backend": { "Url": "/elsa/api" } }""";

    /// <summary>Studio's page: its styles and scripts (no Google fonts, nothing from a CDN) and a slot for the element.</summary>
    private const string Page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1.0"/>
            <title>Elsa Studio · ModelServeShim</title>
            <base href="/elsa-studio/"/>
            <link rel="icon" type="image/png" sizes="32x32" href="_content/Elsa.Studio.Shell/favicon-32x32.png">
            <link href="_content/MudBlazor/MudBlazor.min.css" rel="stylesheet" />
            <link href="_content/CodeBeam.MudBlazor.Extensions/MudExtensions.min.css" rel="stylesheet" />
            <link href="_content/Radzen.Blazor/css/material-base.css" rel="stylesheet" >
            <link href="_content/Elsa.Studio.Shell/css/shell.css" rel="stylesheet">
            <link href="Elsa.Studio.Host.CustomElements.styles.css" rel="stylesheet">
            <style>html, body { height: 100%; margin: 0; } #studio { height: 100vh; } #studio > * { display: block; height: 100%; }</style>
        </head>
        <body>
        <header id="mss-studio-bar" style="font: 14px sans-serif; padding: 4px 8px; background: #1e293b; color: #e2e8f0;">
            <a href="/" style="color: #93c5fd;">ModelServeShim</a> · <span id="mss-studio-title">Elsa Studio</span>
        </header>
        <div id="studio"></div>
        <div id="blazor-error-ui" style="display: none;">
            An unhandled error has occurred. <a href="" class="reload">Reload</a> <a class="dismiss">🗙</a>
        </div>
        <script src="modelserveshim-studio.js"></script>
        <script src="_content/BlazorMonaco/jsInterop.js"></script>
        <script src="_content/BlazorMonaco/lib/monaco-editor/min/vs/loader.js"></script>
        <script src="_content/BlazorMonaco/lib/monaco-editor/min/vs/editor/editor.main.js"></script>
        <script src="_content/MudBlazor/MudBlazor.min.js"></script>
        <script src="_content/CodeBeam.MudBlazor.Extensions/MudExtensions.min.js"></script>
        <script src="_content/Radzen.Blazor/Radzen.Blazor.js"></script>
        <script src="_framework/blazor.webassembly.js"></script>
        </body>
        </html>
        """;

    /// <summary>
    /// Creates the custom element from the query (<c>definition</c>, <c>instance</c>) with this host's API and the key
    /// the web UI stored at sign-in (the same storage: same origin).
    /// </summary>
    private const string Script = """
        (function () {
          var query = new URLSearchParams(location.search);
          var definition = query.get("definition");
          var instance = query.get("instance");
          var key = sessionStorage.getItem("mss.apiKey") || localStorage.getItem("mss.apiKey");
          var title = document.getElementById("mss-studio-title");
          var element;
          if (instance) {
            element = document.createElement("elsa-workflow-instance-viewer");
            element.setAttribute("instance-id", instance);
            title.textContent = "Elsa Studio · run " + instance;
          } else if (definition) {
            element = document.createElement("elsa-workflow-definition-editor");
            element.setAttribute("definition-id", definition);
            title.textContent = "Elsa Studio · " + definition;
          } else {
            element = document.createElement("elsa-workflow-definition-list");
          }
          element.setAttribute("remote-endpoint", location.origin + "/elsa/api");
          if (key) element.setAttribute("api-key", key);
          // Studio shows a refused key only as an "unhandled error": ask first, and say what is wrong.
          fetch(location.origin + "/elsa/api/descriptors/expression-descriptors", { headers: key ? { Authorization: "ApiKey " + key } : {} })
            .then(function (response) {
              if (response.status === 401) {
                var alert = document.createElement("span");
                alert.setAttribute("role", "alert");
                alert.style.marginLeft = "1em";
                alert.style.color = "#fca5a5";
                alert.textContent = key
                  ? "The server refused your API key (401 Unauthorized): sign in again in ModelServeShim."
                  : "This server needs an API key (401 Unauthorized): sign in to ModelServeShim first.";
                document.getElementById("mss-studio-bar").appendChild(alert);
                return;
              }
              document.getElementById("studio").appendChild(element);
            }, function () {
              document.getElementById("studio").appendChild(element);
            });
        })();
        """;
}
