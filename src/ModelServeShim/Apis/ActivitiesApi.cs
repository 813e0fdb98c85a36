using ModelServeShim.Security;
using ModelServeShim.Workflows.Activities;

namespace ModelServeShim.Apis;

/// <summary><c>/api/v1/activities</c>: the activity palette.</summary>
public static class ActivitiesApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapActivitiesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/activities").WithTags("Activities").RequireAuthorization(Policies.View);
        group.MapGet("/", (ActivityRegistry registry) => TypedResults.Ok(registry.All))
            .WithName("ListActivities")
            .WithSummary("Activity types with their inputs, outputs and outcome ports (the designer's palette).");
        return app;
    }
}
