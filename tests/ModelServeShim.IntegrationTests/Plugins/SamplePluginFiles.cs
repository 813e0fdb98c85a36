using System.Reflection;
using System.Reflection.Emit;

namespace ModelServeShim.IntegrationTests.Plugins;

/// <summary>The sample plugin's build output (built before the tests, never referenced by them) and ways to install it.</summary>
public static class SamplePluginFiles
{
    /// <summary>The plugin's name: its folder and main dll name.</summary>
    public const string Name = "ModelServeShim.SamplePlugin";

    /// <summary>tests/ModelServeShim.SamplePlugin/bin/&lt;Configuration&gt;/net10.0, built in the tests' configuration.</summary>
    public static string OutputDirectory { get; } = FindOutput();

    /// <summary>Copies the build output to <c>&lt;pluginsDir&gt;/&lt;name&gt;/</c> (the dll renamed after the folder).</summary>
    public static string Install(string pluginsDir, string name = Name)
    {
        var target = Directory.CreateDirectory(Path.Combine(pluginsDir, name)).FullName;
        foreach (var file in Directory.EnumerateFiles(OutputDirectory))
        {
            var fileName = Path.GetFileName(file).Replace(Name, name, StringComparison.Ordinal);
            File.Copy(file, Path.Combine(target, fileName), overwrite: true);
        }

        return target;
    }

    /// <summary>A plugin folder whose main dll is not an assembly.</summary>
    public static void InstallCorrupt(string pluginsDir, string name)
    {
        var target = Directory.CreateDirectory(Path.Combine(pluginsDir, name)).FullName;
        File.WriteAllBytes(Path.Combine(target, name + ".dll"), [0x4D, 0x5A, 0x00, 0x01, 0x02, 0x03, 0xDE, 0xAD, 0xBE, 0xEF]);
    }

    /// <summary>A plugin folder whose dll declares another contract version (emitted, one empty public type).</summary>
    public static void InstallForContract(string pluginsDir, string name, string contractVersion)
    {
        var target = Directory.CreateDirectory(Path.Combine(pluginsDir, name)).FullName;
        var assembly = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        assembly.SetCustomAttribute(new CustomAttributeBuilder(
            typeof(AssemblyMetadataAttribute).GetConstructor([typeof(string), typeof(string)])!, ["ModelServeShim.ContractVersion", contractVersion]));
        assembly.DefineDynamicModule(name).DefineType($"{name}.Marker", TypeAttributes.Public | TypeAttributes.Class).CreateType();
        assembly.Save(Path.Combine(target, name + ".dll"));
    }

    private static string FindOutput()
    {
        var configuration = typeof(SamplePluginFiles).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var root = ModServ.ModServFactory.RepositoryRoot;
        var dir = Path.Combine(root, "tests", "ModelServeShim.SamplePlugin", "bin", configuration, "net10.0");
        return File.Exists(Path.Combine(dir, Name + ".dll"))
            ? dir
            : throw new InvalidOperationException($"The sample plugin is not built at {dir}: build tests/ModelServeShim.SamplePlugin in {configuration}.");
    }
}
