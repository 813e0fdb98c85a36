namespace ModelServeShim.Models.Tests;

public sealed class ModelPathResolverTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _root;
    private readonly string _outside;

    public ModelPathResolverTests()
    {
        _root = Directory.CreateDirectory(_temp.Combine("models")).FullName;
        _outside = Directory.CreateDirectory(_temp.Combine("secrets")).FullName;
        Directory.CreateDirectory(Path.Combine(_root, "llama"));
        File.WriteAllText(Path.Combine(_root, "llama", "model.gguf"), "x");
        File.WriteAllText(Path.Combine(_outside, "key"), "secret");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Resolve_RelativePath_ResolvesAgainstFirstRoot()
    {
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(Path.Combine(_root, "llama", "model.gguf"), resolver.Resolve("llama/model.gguf"));
        Assert.Equal(Path.Combine(_root, "llama"), resolver.Resolve("./llama/../llama/"));
    }

    [Fact]
    public void Resolve_DotDotTraversal_ReportsPathOutsideModelRoot()
    {
        var resolver = new ModelPathResolver([_root]);

        var error = Assert.Throws<ModelFormatException>(() => resolver.Resolve("../secrets/key"));

        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, error.ErrorCode);
        Assert.Equal("../secrets/key", error.Path);
        Assert.Contains(_root, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AbsolutePathOutsideRoot_ReportsPathOutsideModelRoot()
    {
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve(Path.Combine(_outside, "key"))).ErrorCode);
        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve(_root + "-evil")).ErrorCode);
        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve(Path.Combine(_root, "..", "secrets"))).ErrorCode);
    }

    [Fact]
    public void Resolve_SymlinkInsideRootPointingOutside_ReportsPathOutsideModelRoot()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "llama", "key.gguf"), Path.Combine(_outside, "key"));
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve("escape/key")).ErrorCode);
        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve("llama/key.gguf")).ErrorCode);
        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => resolver.Resolve("escape")).ErrorCode);
    }

    [Fact]
    public void Resolve_DotDotAfterSymlink_FollowsTheLinkTargetsParentLikeTheKernel()
    {
        // models/deep -> secrets/sub ; "deep/../key" is secrets/key to the kernel, not models/key.
        Directory.CreateDirectory(Path.Combine(_outside, "sub"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "deep"), Path.Combine(_outside, "sub"));
        File.WriteAllText(Path.Combine(_root, "key"), "decoy");
        var resolver = new ModelPathResolver([_root]);

        var error = Assert.Throws<ModelFormatException>(() => resolver.Resolve("deep/../key"));

        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, error.ErrorCode);
    }

    [Fact]
    public void Resolve_SymlinkStayingInsideRoot_ReturnsCanonicalTarget()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "latest"), "llama");
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(Path.Combine(_root, "llama", "model.gguf"), resolver.Resolve("latest/model.gguf"));
    }

    [Fact]
    public void Resolve_RootItselfASymlink_AcceptsPathsThroughIt()
    {
        string linkedRoot = _temp.Combine("models-link");
        Directory.CreateSymbolicLink(linkedRoot, _root);
        var resolver = new ModelPathResolver([linkedRoot]);

        Assert.Equal(Path.Combine(_root, "llama", "model.gguf"), resolver.Resolve("llama/model.gguf"));
    }

    [Fact]
    public void Resolve_SecondRoot_IsAlsoAllowed()
    {
        var resolver = new ModelPathResolver([_root, _outside]);

        Assert.Equal(Path.Combine(_outside, "key"), resolver.Resolve(Path.Combine(_outside, "key")));
    }

    [Fact]
    public void Resolve_MissingPathInsideRoot_ReportsModelNotFoundUnlessAllowed()
    {
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(ModelErrorCode.ModelNotFound, Assert.Throws<ModelFormatException>(() => resolver.Resolve("mistral")).ErrorCode);
        Assert.Equal(Path.Combine(_root, "mistral", "x"), resolver.Resolve("mistral/x", mustExist: false));
    }

    [Fact]
    public void Resolve_SymlinkLoop_ReportsInvalidPath()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "a"), Path.Combine(_root, "b"));
        File.CreateSymbolicLink(Path.Combine(_root, "b"), Path.Combine(_root, "a"));
        var resolver = new ModelPathResolver([_root]);

        Assert.Equal(ModelErrorCode.InvalidPath, Assert.Throws<ModelFormatException>(() => resolver.Resolve("a")).ErrorCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a\0b")]
    public void Resolve_EmptyOrNulPath_ReportsInvalidPath(string path)
    {
        Assert.Equal(ModelErrorCode.InvalidPath, Assert.Throws<ModelFormatException>(() => new ModelPathResolver([_root]).Resolve(path)).ErrorCode);
    }

    [Fact]
    public void Constructor_NoRoots_DefaultsToModels()
    {
        Assert.Equal([ModelPathResolver.DefaultRoot], new ModelPathResolver().Roots);
        Assert.Equal(ModelErrorCode.PathOutsideModelRoot, Assert.Throws<ModelFormatException>(() => new ModelPathResolver().Resolve("/etc/passwd")).ErrorCode);
    }
}
