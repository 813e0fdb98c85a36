using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ModelServeShim.IntegrationTests.Infrastructure;

namespace ModelServeShim.IntegrationTests.CrashResume;

/// <summary>The built server run as a real child process: <c>dotnet model-serve-shim.dll --port=… --data-dir=… --workflows-dir=…</c>.</summary>
public sealed class ShimProcess : IDisposable
{
    private const string HostDll = "model-serve-shim.dll";
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ShimProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Everything the process wrote so far (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ShimProcess Start(int port, string dataDir, string workflowsDir, params string[] extraArgs) =>
        Start(port, dataDir, workflowsDir, new Dictionary<string, string>(), extraArgs);

    /// <summary>Starts the server with <paramref name="environment"/> added to its environment (settings such as <c>State__Password</c>).</summary>
    public static ShimProcess Start(int port, string dataDir, string workflowsDir, IReadOnlyDictionary<string, string> environment, params string[] extraArgs)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var dll = LocateHostDll();
        var start = new ProcessStartInfo(DotnetExecutable())
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args = [dll, $"--port={port}", $"--data-dir={dataDir}", $"--workflows-dir={workflowsDir}", "--listen=127.0.0.1", .. extraArgs];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // A real (non-Testing) environment so the port is bound; nothing inherited may route loopback calls elsewhere.
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["NO_PROXY"] = "127.0.0.1,localhost";
        start.Environment["no_proxy"] = "127.0.0.1,localhost";
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("HTTP_PROXY");
        start.Environment.Remove("http_proxy");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var shim = new ShimProcess(process);
        process.OutputDataReceived += (_, e) => shim.Append(e.Data);
        process.ErrorDataReceived += (_, e) => shim.Append(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {start.FileName} {string.Join(' ', start.ArgumentList)}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        shim.Append($"[test] started pid {process.Id}: {start.FileName} {string.Join(' ', start.ArgumentList)}");
        return shim;
    }

    /// <summary>Polls <c>/healthz</c> until it answers, failing early (with the output) if the process exits.</summary>
    public async Task WaitUntilHealthyAsync(HttpClient client, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(client);
        await Poll.UntilAsync<object>(
            async () =>
            {
                if (HasExited)
                {
                    Assert.Fail($"The server exited with code {_process.ExitCode} before it was healthy.\n{Output}");
                }

                try
                {
                    using var response = await client.GetAsync("/healthz");
                    return response.StatusCode == HttpStatusCode.OK ? response : null;
                }
                catch (HttpRequestException)
                {
                    return null;
                }
            },
            "the server to answer /healthz",
            timeout,
            () => Output);
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing; exactly what a crash or an OOM kill looks like.</summary>
    public void Kill()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.Kill(entireProcessTree: true);
        if (!_process.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            throw new InvalidOperationException($"Process {_process.Id} did not exit after SIGKILL.");
        }

        Append($"[test] killed pid {_process.Id} (exit code {_process.ExitCode})");
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    /// <summary>A port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// The host as built for this test run: copied next to the tests (the project references it), else in
    /// src/ModelServeShim/bin/&lt;Configuration&gt;/&lt;tfm&gt;/. Nothing is built here.
    /// </summary>
    public static string LocateHostDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var candidates = new List<string> { Path.Combine(testOutput.FullName, HostDll) };
        var tfm = testOutput.Name;
        var configuration = testOutput.Parent?.Name;
        for (var dir = testOutput.Parent; dir is not null && configuration is not null; dir = dir.Parent)
        {
            var project = Path.Combine(dir.FullName, "src", "ModelServeShim");
            if (Directory.Exists(project))
            {
                candidates.Add(Path.Combine(project, "bin", configuration, tfm, HostDll));
                break;
            }
        }

        return candidates.FirstOrDefault(IsRunnable)
            ?? throw new FileNotFoundException($"No runnable {HostDll} (with its .runtimeconfig.json and .deps.json) in: {string.Join(", ", candidates)}. Build the test project first.");

        static bool IsRunnable(string dll) =>
            File.Exists(dll) && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")) && File.Exists(Path.ChangeExtension(dll, ".deps.json"));
    }

    private static string DotnetExecutable()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
