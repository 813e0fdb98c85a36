namespace ModelServeShim.Models;

/// <summary>
/// Confines user-supplied model paths to configured model roots. A path is accepted only when its
/// canonical form — after resolving <c>.</c>, <c>..</c> and every symbolic link component by component,
/// as the kernel would — lies inside a canonical root. A symbolic link inside a root that points outside
/// is refused.
/// </summary>
/// <remarks>
/// Use the returned canonical path, not the input: the check is about that path. A link swapped between
/// the check and the open can still redirect the open; roots should not be writable by untrusted users.
/// </remarks>
public sealed class ModelPathResolver
{
    /// <summary>Root used when none is configured.</summary>
    public const string DefaultRoot = "/models";

    /// <summary>Most symbolic links followed in one resolution (as Linux's ELOOP limit).</summary>
    private const int MaxLinks = 40;

    private static readonly StringComparison PathComparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
        ? StringComparison.OrdinalIgnoreCase
        : StringComparison.Ordinal;

    /// <param name="roots">Model roots; relative paths resolve against the first. Defaults to <see cref="DefaultRoot"/>.</param>
    public ModelPathResolver(IEnumerable<string>? roots = null)
    {
        var list = roots?.Where(r => !string.IsNullOrWhiteSpace(r)).ToList() ?? [];
        if (list.Count == 0)
        {
            list.Add(DefaultRoot);
        }

        foreach (string root in list)
        {
            if (!Path.IsPathFullyQualified(root))
            {
                throw new ArgumentException($"Model root '{root}' must be an absolute path.", nameof(roots));
            }
        }

        Roots = list;
    }

    /// <summary>The configured roots, as given.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>Returns the canonical path of <paramref name="userPath"/> if it lies inside a model root.</summary>
    /// <param name="userPath">Absolute, or relative to the first root.</param>
    /// <param name="mustExist">When true (default), a path that does not exist is <see cref="ModelErrorCode.ModelNotFound"/>.</param>
    /// <exception cref="ModelFormatException"><see cref="ModelErrorCode.InvalidPath"/>, <see cref="ModelErrorCode.PathOutsideModelRoot"/> or <see cref="ModelErrorCode.ModelNotFound"/>.</exception>
    public string Resolve(string userPath, bool mustExist = true)
    {
        if (string.IsNullOrWhiteSpace(userPath) || userPath.Contains('\0', StringComparison.Ordinal))
        {
            throw new ModelFormatException(ModelErrorCode.InvalidPath, userPath ?? string.Empty, "The model path is empty or contains a NUL character. Give a path inside " + DescribeRoots() + ".");
        }

        string combined = Path.IsPathFullyQualified(userPath) ? userPath : Path.Join(Roots[0], userPath);
        string canonical = Canonicalize(combined, userPath);
        bool inside = Roots.Select(r => Canonicalize(r, r)).Any(root => IsInside(canonical, root));
        if (!inside)
        {
            throw new ModelFormatException(
                ModelErrorCode.PathOutsideModelRoot,
                userPath,
                $"Model path '{userPath}' resolves to '{canonical}', which is outside the model roots ({DescribeRoots()}). Place the model under a root, or add its directory to the configured model roots.");
        }

        if (mustExist && !File.Exists(canonical) && !Directory.Exists(canonical))
        {
            throw new ModelFormatException(ModelErrorCode.ModelNotFound, canonical, $"Model path '{userPath}' ('{canonical}') does not exist. Check the name, or download the model there first.");
        }

        return canonical;
    }

    /// <summary>Like <see cref="Resolve"/>, but returns false instead of throwing for a refused path.</summary>
    public bool TryResolve(string userPath, out string canonicalPath, out ModelFormatException? error, bool mustExist = true)
    {
        try
        {
            canonicalPath = Resolve(userPath, mustExist);
            error = null;
            return true;
        }
        catch (ModelFormatException e)
        {
            canonicalPath = string.Empty;
            error = e;
            return false;
        }
    }

    private string DescribeRoots() => string.Join(", ", Roots);

    private static bool IsInside(string path, string root)
    {
        if (string.Equals(path, root, PathComparison))
        {
            return true;
        }

        string prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, PathComparison);
    }

    /// <summary>
    /// Physical canonicalization (realpath -m): walks components left to right, replacing each symbolic
    /// link by its target before applying later components, so <c>link/..</c> means the link target's parent.
    /// Components that do not exist are kept as written.
    /// </summary>
    internal static string Canonicalize(string path, string userPath)
    {
        string root = Path.GetPathRoot(path)!;
        var pending = new LinkedList<string>(Split(path[root.Length..]));
        string resolved = root;
        int links = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            string component = node.Value;
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? resolved;
                continue;
            }

            string candidate = Path.Join(resolved, component);
            string? target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                resolved = candidate;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new ModelFormatException(ModelErrorCode.InvalidPath, userPath, $"Model path '{userPath}' goes through more than {MaxLinks} symbolic links (a loop?).");
            }

            var targetParts = Split(Path.IsPathRooted(target) ? target[Path.GetPathRoot(target)!.Length..] : target);
            if (Path.IsPathRooted(target))
            {
                resolved = Path.GetPathRoot(target)!;
            }

            for (int i = targetParts.Length - 1; i >= 0; i--)
            {
                pending.AddFirst(targetParts[i]);
            }
        }

        return resolved;
    }

    private static string[] Split(string relative) =>
        relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
}
