// A stand-in for a serving runtime, configured through the environment:
//   PORT / HOST (or --port / --host)     where to listen (the local shimlet sets both)
//   TEST_SERVER_HEALTH_DELAY_MS          /health answers 503 until this much time has passed, then 200
//   TEST_SERVER_CRASH_AFTER_MS           exit with TEST_SERVER_EXIT_CODE (default 3) after this long
//   TEST_SERVER_CRASH_ONCE_MARKER        ...but only if this file does not exist yet (it is created)
//   TEST_SERVER_SIGTERM_MARKER           a file written when SIGTERM arrives
//   TEST_SERVER_IGNORE_SIGTERM=1         keep running after SIGTERM
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

var argPort = ArgValue(args, "--port");
var envPort = Environment.GetEnvironmentVariable("PORT");
var port = int.Parse(argPort ?? envPort ?? "0", CultureInfo.InvariantCulture);
var host = ArgValue(args, "--host") ?? Environment.GetEnvironmentVariable("HOST") ?? "127.0.0.1";
var healthDelay = TimeSpan.FromMilliseconds(Number("TEST_SERVER_HEALTH_DELAY_MS", 0));
var crashAfter = Number("TEST_SERVER_CRASH_AFTER_MS", -1);
var exitCode = Number("TEST_SERVER_EXIT_CODE", 3);
var crashOnceMarker = Environment.GetEnvironmentVariable("TEST_SERVER_CRASH_ONCE_MARKER");
var sigtermMarker = Environment.GetEnvironmentVariable("TEST_SERVER_SIGTERM_MARKER");
var ignoreSigterm = Environment.GetEnvironmentVariable("TEST_SERVER_IGNORE_SIGTERM") == "1";

Console.WriteLine($"test-server pid={Environment.ProcessId} argv-port={argPort} env-port={envPort} host={host} cwd={Environment.CurrentDirectory}");
Console.Error.WriteLine("test-server stderr line");

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    Console.WriteLine("test-server got SIGTERM");
    if (sigtermMarker is not null)
    {
        File.WriteAllText(sigtermMarker, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    }

    if (!ignoreSigterm)
    {
        stop.Cancel();
    }
});

var crash = crashAfter >= 0 && (crashOnceMarker is null || !File.Exists(crashOnceMarker));
if (crash)
{
    if (crashOnceMarker is not null)
    {
        File.WriteAllText(crashOnceMarker, "crashed");
    }

    _ = Task.Run(async () =>
    {
        await Task.Delay(crashAfter);
        Console.Error.WriteLine($"test-server crashing with exit code {exitCode}");
        Environment.Exit(exitCode);
    });
}

var clock = Stopwatch.StartNew();
var listener = new TcpListener(IPAddress.Parse(host), port);
listener.Start();
Console.WriteLine($"test-server listening on {host}:{port}");
try
{
    while (!stop.IsCancellationRequested)
    {
        var client = await listener.AcceptTcpClientAsync(stop.Token);
        _ = Task.Run(() => AnswerAsync(client, clock, healthDelay));
    }
}
catch (OperationCanceledException)
{
    // SIGTERM
}

listener.Stop();
Console.WriteLine("test-server stopped");
return 0;

static async Task AnswerAsync(TcpClient client, Stopwatch clock, TimeSpan healthDelay)
{
    using (client)
    {
        var stream = client.GetStream();
        var request = new StringBuilder();
        var buffer = new byte[1024];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                return;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var path = request.ToString().Split(' ')[1];
        var status = path == "/health" ? (clock.Elapsed >= healthDelay ? "200 OK" : "503 Service Unavailable") : "404 Not Found";
        var response = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        await stream.WriteAsync(response);
    }
}

static string? ArgValue(string[] args, string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

static int Number(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
