namespace ModelServeShim.Gateway;

/// <summary>The gateway's paths.</summary>
public static class GatewayPaths
{
    /// <summary>The OpenAI base URL's path: clients use <c>http://host:port/v1</c> as their base URL.</summary>
    public const string Base = "/v1";
}

/// <summary>Registers the OpenAI-compatible gateway (docs/gateway.md).</summary>
public static class GatewayExtensions
{
    /// <summary>Adds the gateway's options, YARP's forwarder, the route table and the forwarder.</summary>
    public static IServiceCollection AddGateway(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpForwarder();
        services.AddSingleton<GatewayHttp>();
        services.AddSingleton<GatewayRouteTable>();
        services.AddSingleton<GatewayForwarder>();
        services.AddSingleton<GatewayUsage>();
        return services;
    }
}
