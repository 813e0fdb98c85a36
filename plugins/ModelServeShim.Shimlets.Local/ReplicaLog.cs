using System.Text;

namespace ModelServeShim.Shimlets.Local;

/// <summary>One log line with its place in the shimlet-wide order (used to merge replicas newest last).</summary>
internal readonly record struct LogLine(long Sequence, string Text);

/// <summary>
/// Follows one replica's log file, which the process itself appends to (stdout and stderr redirected by the exec
/// trampoline): reads new lines into a bounded in-memory tail and rotates the file by size (copy, then truncate, so
/// the writer's append descriptor stays valid).
/// </summary>
internal sealed class ReplicaLog(string path, LocalShimletOptions options, Func<long> nextSequence)
{
    private const int MaxLineBytes = 64 * 1024;
    private const int InitialReadBytes = 256 * 1024;

    private readonly Lock _gate = new();
    private readonly Queue<LogLine> _tail = new();
    private readonly MemoryStream _partial = new();
    private long _offset;

    /// <summary>The file the process appends to.</summary>
    public string Path { get; } = path;

    /// <summary>Loads the end of an existing file (after an orchestrator restart) and follows it from its end.</summary>
    public void LoadExisting()
    {
        lock (_gate)
        {
            if (!File.Exists(Path))
            {
                return;
            }

            foreach (var line in ReadLastLines(Path, options.LogTailLines))
            {
                Add(line);
            }

            _offset = new FileInfo(Path).Length;
        }
    }

    /// <summary>Reads what was appended since the last call, and rotates the file when it is too large.</summary>
    public void Pump()
    {
        lock (_gate)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }

            long length;
            using (stream)
            {
                length = stream.Length;
                if (length < _offset)
                {
                    // Truncated by someone else: start again from the top.
                    _offset = 0;
                    _partial.SetLength(0);
                }

                stream.Position = _offset;
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    Split(buffer.AsSpan(0, read));
                    _offset += read;
                }
            }

            if (_offset > options.MaxLogFileBytes)
            {
                Rotate();
            }
        }
    }

    /// <summary>The last <paramref name="count"/> lines read, oldest first.</summary>
    public IReadOnlyList<LogLine> Last(int count)
    {
        lock (_gate)
        {
            return [.. _tail.Skip(Math.Max(0, _tail.Count - count))];
        }
    }

    /// <summary>The last lines of a log file (for a service no longer running).</summary>
    public static IReadOnlyList<string> ReadLastLines(string path, int count)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var start = Math.Max(0, stream.Length - InitialReadBytes);
        stream.Position = start;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = reader.ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (start > 0 && lines.Count > 0)
        {
            lines.RemoveAt(0); // began mid-line
        }

        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return [.. lines.Skip(Math.Max(0, lines.Count - count))];
    }

    private void Split(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            var chunk = newline < 0 ? bytes : bytes[..newline];
            _partial.Write(chunk);
            if (newline < 0)
            {
                if (_partial.Length >= MaxLineBytes)
                {
                    FlushPartial();
                }

                return;
            }

            FlushPartial();
            bytes = bytes[(newline + 1)..];
        }
    }

    private void FlushPartial()
    {
        var text = Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length).TrimEnd('\r');
        _partial.SetLength(0);
        Add(text);
    }

    private void Add(string text)
    {
        _tail.Enqueue(new LogLine(nextSequence(), text));
        while (_tail.Count > options.LogTailLines)
        {
            _tail.Dequeue();
        }
    }

    private void Rotate()
    {
        if (options.MaxLogFiles > 0)
        {
            for (var i = options.MaxLogFiles - 1; i >= 1; i--)
            {
                var from = $"{Path}.{i}";
                if (File.Exists(from))
                {
                    File.Move(from, $"{Path}.{i + 1}", overwrite: true);
                }
            }

            File.Copy(Path, Path + ".1", overwrite: true);
        }

        using (var stream = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.SetLength(0);
        }

        _offset = 0;
    }
}
