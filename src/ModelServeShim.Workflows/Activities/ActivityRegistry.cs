using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities;

/// <summary>
/// Discovers activity types (classes deriving from <see cref="Activity"/> with <see cref="ActivityAttribute"/>)
/// in assemblies. Plugins add and remove their assemblies at run time.
/// </summary>
public sealed class ActivityRegistry
{
    private readonly ConcurrentDictionary<string, ActivityDescriptor> _byType = new(StringComparer.Ordinal);

    /// <summary>Raised after the set of activity types changed.</summary>
    public event Action? Changed;

    /// <summary>All registered descriptors, sorted by category and name.</summary>
    public IReadOnlyList<ActivityDescriptor> All =>
        [.. _byType.Values.OrderBy(d => d.Category, StringComparer.Ordinal).ThenBy(d => d.Type, StringComparer.Ordinal)];

    /// <summary>Finds a type by its name.</summary>
    public bool TryGet(string type, out ActivityDescriptor descriptor) => _byType.TryGetValue(type, out descriptor!);

    /// <summary>Registers every activity type of an assembly.</summary>
    /// <returns>The registered descriptors.</returns>
    /// <exception cref="InvalidOperationException">A type name is already registered by another source.</exception>
    public IReadOnlyList<ActivityDescriptor> AddAssembly(Assembly assembly, string source)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var descriptors = assembly.GetExportedTypes()
            .Where(t => t is { IsAbstract: false, IsClass: true } && typeof(Activity).IsAssignableFrom(t)
                && t.GetCustomAttribute<ActivityAttribute>() is not null)
            .Select(t => Describe(t, source))
            .ToList();
        foreach (var d in descriptors)
        {
            if (_byType.TryGetValue(d.Type, out var existing) && existing.Source != source)
            {
                throw new InvalidOperationException(
                    $"Activity type '{d.Type}' from '{source}' is already provided by '{existing.Source}'. Rename it or unload '{existing.Source}'.");
            }
        }

        foreach (var d in descriptors)
        {
            _byType[d.Type] = d;
        }

        Changed?.Invoke();
        return descriptors;
    }

    /// <summary>Registers one activity type.</summary>
    public ActivityDescriptor Add<TActivity>(string source = "builtin") where TActivity : Activity
    {
        var d = Describe(typeof(TActivity), source);
        _byType[d.Type] = d;
        Changed?.Invoke();
        return d;
    }

    /// <summary>Removes every type a source registered (a plugin being unloaded).</summary>
    public void RemoveSource(string source)
    {
        foreach (var (type, d) in _byType)
        {
            if (d.Source == source)
            {
                _byType.TryRemove(type, out _);
            }
        }

        Changed?.Invoke();
    }

    /// <summary>Builds the descriptor of an activity type from its attributes.</summary>
    public static ActivityDescriptor Describe(Type type, string source)
    {
        ArgumentNullException.ThrowIfNull(type);
        var attr = type.GetCustomAttribute<ActivityAttribute>()
            ?? throw new InvalidOperationException($"{type.FullName} has no [Activity] attribute.");
        var inputs = new List<InputDescriptor>();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var input = p.GetCustomAttribute<InputAttribute>();
            if (input is null)
            {
                continue;
            }

            if (p.SetMethod is null)
            {
                throw new InvalidOperationException($"Input {type.Name}.{p.Name} needs a public setter.");
            }

            var (kind, options) = InputTypes.Describe(p.PropertyType);
            inputs.Add(new InputDescriptor
            {
                Name = input.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name),
                Type = kind,
                Options = options,
                Required = input.Required,
                Default = input.DefaultJson is null ? null : JsonNode.Parse(input.DefaultJson),
                Description = input.Description,
                UiHint = input.UiHint ?? (options is null ? null : "dropdown"),
                Property = p,
            });
        }

        var outcomes = new List<string> { Outcomes.Done };
        foreach (var o in type.GetCustomAttribute<OutcomesAttribute>()?.Outcomes ?? [])
        {
            if (!outcomes.Contains(o))
            {
                outcomes.Add(o);
            }
        }

        outcomes.Add(Outcomes.Failed);
        var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);
        return new ActivityDescriptor
        {
            Type = attr.Type,
            Version = attr.Version,
            Category = attr.Category,
            DisplayName = attr.DisplayName ?? type.Name.Replace("Activity", "", StringComparison.Ordinal),
            Description = attr.Description,
            Inputs = inputs,
            Outputs = [.. type.GetCustomAttributes<OutputAttribute>().Select(o => new OutputDescriptor(o.Name, o.Type, o.Description, o.Kind))],
            Outcomes = outcomes,
            Source = source,
            ClrType = type,
            Factory = sp => (Activity)factory(sp, null),
        };
    }
}
