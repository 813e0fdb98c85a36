using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Scaffolding;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ModelServeShim.Testing.EfCore;

/// <summary>
/// Regenerates a context's compiled model the way <c>scripts/ef-compiled-models.sh</c> (<c>dotnet ef dbcontext
/// optimize</c>) does, from the model EF Core builds at run time, and compares it with the committed files: a committed
/// compiled model that no longer matches the context's model (a property, index, converter or table changed without
/// running the script) is a difference.
/// </summary>
internal static partial class CompiledModelCheck
{
    /// <summary>The files that differ (missing, extra or changed), with the first differing line; empty when current.</summary>
    /// <param name="context">A context configured for SQLite without <c>UseModel</c> (the design-time factory's).</param>
    /// <param name="modelNamespace">The compiled model's namespace.</param>
    /// <param name="committedDirectory">The committed compiled model's folder.</param>
    public static IReadOnlyList<string> Differences(DbContext context, string modelNamespace, string committedDirectory)
    {
        var services = new ServiceCollection()
            .AddEntityFrameworkDesignTimeServices()
            .AddDbContextDesignTimeServices(context);
        // The provider's design-time services, found as the dotnet-ef tool finds them.
        var provider = Assembly.Load(new AssemblyName(context.GetService<IDatabaseProvider>().Name));
        var attribute = provider.GetCustomAttribute<DesignTimeProviderServicesAttribute>()
            ?? throw new InvalidOperationException($"{provider.GetName().Name} declares no design-time services.");
        var designTime = (IDesignTimeServices)Activator.CreateInstance(provider.GetType(attribute.TypeName, throwOnError: true)!)!;
        designTime.ConfigureDesignTimeServices(services);

        var output = Path.Combine(Path.GetTempPath(), $"mss-compiled-model-{Guid.NewGuid():N}");
        try
        {
            using var serviceProvider = services.BuildServiceProvider();
            serviceProvider.GetRequiredService<ICompiledModelScaffolder>().ScaffoldModel(
                context.GetService<IDesignTimeModel>().Model,
                output,
                new CompiledModelCodeGenerationOptions
                {
                    ContextType = context.GetType(),
                    ModelNamespace = modelNamespace,
                    Language = "C#",
                    UseNullableReferenceTypes = true,
                });

            // The script deletes the assembly attribute (automatic discovery would apply the model to every provider).
            var attributeFile = $"{context.GetType().Name}AssemblyAttributes.cs";
            var generated = Directory.GetFiles(output).Select(Path.GetFileName).Where(f => f != attributeFile).Order(StringComparer.Ordinal).ToList();
            var committed = Directory.GetFiles(committedDirectory, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            var differences = new List<string>();
            differences.AddRange(generated.Except(committed).Select(f => $"{f}: not committed"));
            differences.AddRange(committed.Except(generated).Select(f => $"{f}: committed but no longer generated"));
            foreach (var file in generated.Intersect(committed))
            {
                var expected = Normalized(File.ReadAllLines(Path.Combine(output, file!)));
                var actual = Normalized(File.ReadAllLines(Path.Combine(committedDirectory, file!)));
                var line = Enumerable.Range(0, Math.Max(expected.Length, actual.Length))
                    .FirstOrDefault(i => i >= expected.Length || i >= actual.Length || expected[i] != actual[i], -1);
                if (line >= 0)
                {
                    differences.Add($"{file}:{line + 1}: generated '{(line < expected.Length ? expected[line].Trim() : "<end>")}', committed '{(line < actual.Length ? actual[line].Trim() : "<end>")}'");
                }
            }

            return differences;
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>Without the byte-order mark and the model id (a new random GUID at every generation).</summary>
    private static string[] Normalized(string[] lines) =>
        [.. lines.Select(l => ModelId().Replace(l.TrimStart('\uFEFF'), "modelId: new Guid(\"…\")"))];

    [GeneratedRegex(@"modelId: new Guid\(""[0-9a-f-]{36}""\)")]
    private static partial Regex ModelId();

    /// <summary>The repository's folder (the one with ModelServeShim.sln) above the test's output.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ModelServeShim.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"No ModelServeShim.sln above {AppContext.BaseDirectory}.");
    }
}
