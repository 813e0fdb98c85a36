namespace ModelServeShim.Abstractions;

/// <summary>
/// The version of the plugin contract in this assembly. A plugin records the contract version it was
/// built against; the host refuses a plugin whose major version differs.
/// </summary>
public static class ContractVersion
{
    /// <summary>Major version: bumped on breaking changes to any public type here.</summary>
    public const int Major = 1;

    /// <summary>Minor version: bumped on additive changes.</summary>
    public const int Minor = 5;
}
