using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace ModelServeShim.Testing.Postgres;

/// <summary>
/// A temporary PostgreSQL cluster for one test process: <c>initdb</c> into a temp folder and <c>pg_ctl start</c> on a
/// free port of 127.0.0.1 (never the system service), as the <c>postgres</c> user when the tests run as root, with
/// SCRAM password authentication (so a test proves the password reaches the server). Started on first use by
/// <see cref="Shared"/>, stopped and deleted when the process exits; a cluster left behind by a killed test process is
/// stopped by the next one. Durability settings are off: the tests never need the data after the cluster stops.
/// </summary>
public sealed class PostgresCluster
{
    /// <summary>The superuser.</summary>
    public const string SuperUser = "postgres";

    private const string Prefix = "mss-pg-";
    private static readonly Lazy<PostgresCluster> SharedCluster = new(() => Start(durable: false), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly string _root;
    private readonly string _binaries;
    private int _stopped;

    private PostgresCluster(string root, string binaries, int port, string password)
    {
        _root = root;
        _binaries = binaries;
        Port = port;
        Password = password;
    }

    /// <summary>The process's cluster, started on first use.</summary>
    public static PostgresCluster Shared => SharedCluster.Value;

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The superuser's password.</summary>
    public string Password { get; }

    private string DataDir => Path.Combine(_root, "data");

    /// <summary>A connection string (without the password) to <paramref name="database"/>.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Database={database};Username={SuperUser}";

    /// <summary>Creates an empty database named after <paramref name="prefix"/> (for one test class, or one test); its connection string without the password.</summary>
    public string CreateDatabase(string prefix)
    {
        var name = $"{new string([.. prefix.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)])}_{Guid.NewGuid():N}";
        name = name.Length > 63 ? name[^63..] : name;
        using var connection = new NpgsqlConnection($"{ConnectionString("postgres")};Password={Password};Pooling=false");
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        command.ExecuteNonQuery();
        return ConnectionString(name);
    }

    /// <summary>Stops the cluster and deletes its folder.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        Run(_binaries, "pg_ctl", ["stop", "-D", DataDir, "-m", "immediate", "-w", "-t", "30"], throwOnFailure: false);
        TryDelete(_root);
    }

    /// <summary>
    /// A cluster of its own with PostgreSQL's durable defaults (fsync, synchronous commit, full page writes), for
    /// benchmarks whose numbers must mean what they would in production. Stopped when the process exits, or by <see cref="Stop"/>.
    /// </summary>
    public static PostgresCluster StartDurable() => Start(durable: true);

    private static PostgresCluster Start(bool durable)
    {
        var binaries = FindBinaries();
        StopAbandoned(binaries);
        var root = Directory.CreateTempSubdirectory(Prefix).FullName;
        File.WriteAllText(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(root, "pwfile");
        File.WriteAllText(passwordFile, password);
        if (IsRoot)
        {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            RunChecked("chmod", ["755", root]);
            RunChecked("chown", ["-R", SuperUser, root]);
        }

        var cluster = default(PostgresCluster);
        try
        {
            Run(binaries, "initdb", ["-D", Path.Combine(root, "data"), "-U", SuperUser, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8",
                "--no-sync", "--no-instructions"]);
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                string[] speed = durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
                var options = string.Join(' ', ["-p", port.ToString(CultureInfo.InvariantCulture), "-k", root, "-c", "listen_addresses=127.0.0.1",
                    "-c", "max_connections=400", .. speed]);
                var started = Run(binaries, "pg_ctl", ["start", "-D", Path.Combine(root, "data"), "-w", "-t", "60", "-l", Path.Combine(root, "server.log"), "-o", options],
                    throwOnFailure: attempt == 3);
                if (started)
                {
                    cluster = new PostgresCluster(root, binaries, port, password);
                    break;
                }
            }
        }
        catch
        {
            TryDelete(root);
            throw;
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        return cluster;
    }

    /// <summary>Stops clusters whose test process is gone (killed before it could stop them) and deletes their folders.</summary>
    private static void StopAbandoned(string binaries)
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var owner = Path.Combine(dir, "owner.pid");
            if (!File.Exists(owner) || !int.TryParse(File.ReadAllText(owner), CultureInfo.InvariantCulture, out var pid) || IsAlive(pid))
            {
                continue;
            }

            if (File.Exists(Path.Combine(dir, "data", "postmaster.pid")))
            {
                Run(binaries, "pg_ctl", ["stop", "-D", Path.Combine(dir, "data"), "-m", "immediate", "-w", "-t", "30"], throwOnFailure: false);
            }

            TryDelete(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("MSS_PG_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }

        const string debian = "/usr/lib/postgresql";
        if (Directory.Exists(debian))
        {
            var newest = Directory.EnumerateDirectories(debian)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "bin", "initdb")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin");
            }
        }

        throw new InvalidOperationException(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/<version>/bin: run scripts/install-test-deps.sh (it installs Debian's postgresql package), or set MSS_PG_BIN.");
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool Run(string binaries, string tool, IReadOnlyList<string> arguments, bool throwOnFailure = true)
    {
        var path = Path.Combine(binaries, tool);
        return IsRoot
            ? RunProcess("runuser", ["-u", SuperUser, "--", path, .. arguments], throwOnFailure)
            : RunProcess(path, arguments, throwOnFailure);
    }

    private static void RunChecked(string file, IReadOnlyList<string> arguments) => RunProcess(file, arguments, throwOnFailure: true);

    private static bool RunProcess(string file, IReadOnlyList<string> arguments, bool throwOnFailure)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within 90 s.");
        }

        if (process.ExitCode != 0 && throwOnFailure)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        return process.ExitCode == 0;
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the temp cleaner; nothing runs there any more.
        }
    }
}
