using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>Waiting for a service to wait for approval.</summary>
public static class ApprovalWaits
{
    /// <summary>
    /// Polls GET /{id} until the service is <c>AwaitingApproval</c>, and asserts that it then shows
    /// <c>pendingApproval</c> at once: the state is entered when the approval step has suspended with its bookmark
    /// stored, so whoever sees the state can already sign off (never a 409 "nothing waits" in between).
    /// </summary>
    public static async Task<JsonNode> WaitForPendingApprovalAsync(this HttpClient client, string serviceId, TimeSpan? timeout = null)
    {
        JsonNode? last = null;
        var waiting = await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetServiceAsync(serviceId);
                return last.State() == "AwaitingApproval" ? last : null;
            },
            $"service {serviceId} to wait for approval",
            timeout,
            () => $"Last seen: {last?.ToJsonString()}");
        Assert.True(waiting["pendingApproval"] is not null, $"AwaitingApproval without pendingApproval: {waiting.ToJsonString()}");
        return waiting;
    }
}
