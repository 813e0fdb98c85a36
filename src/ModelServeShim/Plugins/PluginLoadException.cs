namespace ModelServeShim.Plugins;

/// <summary>Why a plugin could not be loaded: the API maps each to a status code.</summary>
public enum PluginLoadError
{
    /// <summary>The name is not a plain folder name (400); the file system was not touched.</summary>
    InvalidName,
    /// <summary>No <c>&lt;name&gt;/&lt;name&gt;.dll</c> in the plugins directory (404).</summary>
    NotFound,
    /// <summary>The dll or one of its dependencies is missing, corrupt or not loadable (422).</summary>
    BadImage,
    /// <summary>Built against another major version of the contract, or not against it at all (422).</summary>
    ContractMismatch,
    /// <summary>A shimlet or activity type name belongs to the host or to another plugin (409).</summary>
    Conflict,
}

/// <summary>A plugin load was refused; nothing was registered and any previous version stays loaded.</summary>
/// <param name="error">The kind of failure.</param>
/// <param name="message">What happened and what to change.</param>
/// <param name="innerException">The loader's exception, when there is one.</param>
public sealed class PluginLoadException(PluginLoadError error, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>The kind of failure.</summary>
    public PluginLoadError Error { get; } = error;
}
