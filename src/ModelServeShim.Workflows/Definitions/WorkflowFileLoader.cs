using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Replicas;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>Where workflow JSON files live (section <c>Workflows</c>).</summary>
public sealed class WorkflowFileOptions
{
    /// <summary>The folder of <c>*.json</c> definitions, loaded at start and on change. Relative paths resolve against the working directory.</summary>
    public string Directory { get; set; } = "workflows";

    /// <summary>Watch the folder and load changed files without a restart.</summary>
    public bool Watch { get; set; } = true;
}

/// <summary>
/// A definition file built into the host (an embedded resource), loaded at start before the folder's files. A file of
/// the same name in the folder replaces it; a file in the folder with the same definition id but another name loads
/// after it, so it becomes the newer version.
/// </summary>
/// <param name="File">The file name, e.g. <c>opensourcellm.json</c>.</param>
/// <param name="Open">Opens its content.</param>
public sealed record BuiltinWorkflowFile(string File, Func<Stream> Open);

/// <summary>The last load of one file.</summary>
/// <param name="File">The file name (<c>builtin:</c> and the name for a built-in one).</param>
/// <param name="DefinitionId">The definition it holds, when it parsed.</param>
/// <param name="Version">The version it produced or matched.</param>
/// <param name="LoadedAt">When it was loaded.</param>
/// <param name="Errors">Why it was refused; empty when loaded.</param>
public sealed record WorkflowFileStatus(string File, string? DefinitionId, int? Version, DateTimeOffset LoadedAt, IReadOnlyList<ValidationError> Errors);

/// <summary>
/// Loads <c>workflows/*.json</c> as the source of truth for pipelines kept under version control: at start (after the
/// host's built-in files, <see cref="BuiltinWorkflowFile"/>), and whenever a file is added or changed. A changed file becomes a new version; an invalid one is
/// refused (the previous version stays in use) and its errors are logged and reported. With replicas on one PostgreSQL
/// database, every replica loads the files at start one after the other (a cluster-wide lock; an unchanged file stores
/// nothing), so each starts with the definitions it needs, and only the elected leader (<see cref="ClusterLeader"/>)
/// loads changed files: give every replica the same folder.
/// </summary>
public sealed class WorkflowFileLoader(
    DefinitionStore store,
    ClusterLeader leader,
    IOptions<WorkflowFileOptions> options,
    IEnumerable<BuiltinWorkflowFile> builtins,
    TimeProvider time,
    ILogger<WorkflowFileLoader> logger) : IHostedService, IDisposable
{
    private const long MaxFileBytes = 1024 * 1024;
    private readonly ConcurrentDictionary<string, WorkflowFileStatus> _status = new(StringComparer.Ordinal);
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(300);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CancellationTokenSource> _debounce = new(StringComparer.Ordinal);
    private readonly Dictionary<CancellationTokenSource, Task> _reloads = [];
    private readonly CancellationTokenSource _stopping = new();
    private FileSystemWatcher? _watcher;

    /// <summary>The folder, resolved.</summary>
    public string DirectoryPath => Path.GetFullPath(options.Value.Directory);

    /// <summary>Reloads scheduled or running (diagnostics and tests).</summary>
    internal int PendingReloads
    {
        get
        {
            lock (_gate)
            {
                return _reloads.Count;
            }
        }
    }

    /// <summary>The last load of each file.</summary>
    public IReadOnlyList<WorkflowFileStatus> Files => [.. _status.Values.OrderBy(s => s.File, StringComparer.Ordinal)];

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) =>
        leader.RunExclusiveAsync("workflow-files", TimeSpan.FromMinutes(1), LoadAllAsync, cancellationToken);

    private async Task LoadAllAsync(CancellationToken cancellationToken)
    {
        var folderExists = Directory.Exists(DirectoryPath);
        foreach (var builtin in builtins.OrderBy(b => b.File, StringComparer.Ordinal))
        {
            if (folderExists && File.Exists(Path.Combine(DirectoryPath, builtin.File)))
            {
                logger.LogInformation("Workflow file {File} in {Directory} replaces the built-in one", builtin.File, DirectoryPath);
                continue;
            }

            await using var stream = builtin.Open();
            using var reader = new StreamReader(stream);
            await LoadJsonAsync($"builtin:{builtin.File}", "builtin", await reader.ReadToEndAsync(cancellationToken), cancellationToken);
        }

        if (!folderExists)
        {
            logger.LogInformation("Workflow folder {Directory} does not exist; only the built-in definitions are loaded", DirectoryPath);
            return;
        }

        foreach (var file in Directory.EnumerateFiles(DirectoryPath, "*.json").Order(StringComparer.Ordinal))
        {
            await LoadFileAsync(file, cancellationToken);
        }

        if (options.Value.Watch)
        {
            _watcher = new FileSystemWatcher(DirectoryPath, "*.json")
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += (_, e) => Schedule(e.FullPath);
            _watcher.Created += (_, e) => Schedule(e.FullPath);
            _watcher.Renamed += (_, e) => Schedule(e.FullPath);
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>Stops watching, cancels the reloads that wait for a file to be quiet and waits for any that is loading.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        _watcher = null;
        await _stopping.CancelAsync();
        Task[] reloads;
        lock (_gate)
        {
            reloads = [.. _reloads.Values];
        }

        await Task.WhenAll(reloads).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <inheritdoc />
    /// <remarks>The stopping token source is left to the garbage collector (it holds no timer): a watcher event racing the stop may still read its token.</remarks>
    public void Dispose()
    {
        _watcher?.Dispose();
        _watcher = null;
        _stopping.Cancel();
    }

    /// <summary>Loads one file now.</summary>
    public async Task<WorkflowFileStatus> LoadFileAsync(string path, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        WorkflowFileStatus status;
        try
        {
            var info = new FileInfo(path);
            if (info.Length > MaxFileBytes)
            {
                status = Refused(name, null, new ValidationError("$", $"The file is {info.Length} bytes; definitions are limited to {MaxFileBytes} bytes."));
            }
            else
            {
                return await LoadJsonAsync(name, "file", await File.ReadAllTextAsync(path, cancellationToken), cancellationToken);
            }
        }
        catch (IOException e)
        {
            status = Refused(name, null, new ValidationError("$", $"The file could not be read: {e.Message}"));
        }

        _status[name] = status;
        return status;
    }

    /// <summary>Parses, validates and saves one file's content (<paramref name="user"/>: <c>file</c> or <c>builtin</c>).</summary>
    private async Task<WorkflowFileStatus> LoadJsonAsync(string name, string user, string json, CancellationToken cancellationToken)
    {
        WorkflowFileStatus status;
        try
        {
            var definition = DefinitionJson.Parse(json, out var parseError);
            if (definition is null)
            {
                status = Refused(name, null, parseError!);
            }
            else
            {
                var source = user == "file" ? $"file:{name}" : name;
                var saved = await store.SaveAsync(definition, source, user, cancellationToken);
                status = new WorkflowFileStatus(name, definition.DefinitionId, saved.Record.Version, time.GetUtcNow(), []);
                if (saved.Created)
                {
                    logger.LogInformation("Loaded workflow {DefinitionId} v{Version} from {File}", definition.DefinitionId, saved.Record.Version, name);
                }
            }
        }
        catch (DefinitionInvalidException e)
        {
            status = Refused(name, null, [.. e.Errors]);
        }

        _status[name] = status;
        return status;
    }

    private WorkflowFileStatus Refused(string name, string? id, params ValidationError[] errors)
    {
        foreach (var e in errors)
        {
            logger.LogError("Workflow file {File} refused at {Path}: {Message}", name, e.Path, e.Message);
        }

        return new WorkflowFileStatus(name, id, null, time.GetUtcNow(), errors);
    }

    /// <summary>
    /// Reloads a changed file once it has been quiet for a moment (editors write files in several steps): a newer change
    /// of the same file supersedes the waiting reload. Every reload is tracked until it ends, so stopping waits for it.
    /// </summary>
    private void Schedule(string path)
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            if (_debounce.Remove(path, out var previous))
            {
                previous.Cancel();
            }

            var quiet = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            _debounce[path] = quiet;
            var reload = ReloadWhenQuietAsync(path, quiet);
            if (!reload.IsCompleted)
            {
                _reloads[quiet] = reload;
            }
        }
    }

    private async Task ReloadWhenQuietAsync(string path, CancellationTokenSource quiet)
    {
        try
        {
            await Task.Delay(QuietPeriod, time, quiet.Token);
            if (!leader.IsLeader)
            {
                logger.LogInformation("Workflow file {File} changed; the leader replica loads changed files, not this one", Path.GetFileName(path));
            }
            else if (File.Exists(path))
            {
                await LoadFileAsync(path, quiet.Token);
            }
        }
        catch (OperationCanceledException) when (quiet.IsCancellationRequested)
        {
            // A newer change superseded this one, or the host is stopping.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Reloading workflow file {File} failed; the previous version stays in use", Path.GetFileName(path));
        }
        finally
        {
            lock (_gate)
            {
                if (_debounce.TryGetValue(path, out var current) && ReferenceEquals(current, quiet))
                {
                    _debounce.Remove(path);
                }

                _reloads.Remove(quiet);
            }

            quiet.Dispose();
        }
    }
}
