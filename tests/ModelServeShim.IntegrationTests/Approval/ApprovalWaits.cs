using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>Waiting for a service to wait for approval.</summary>
public static class ApprovalWaits
{
    /// <summary>
    /// Polls GET /{id} until the service is <c>AwaitingApproval</c> AND shows <c>pendingApproval</c>. The state changes
    /// when the approval step starts, the bookmark (what <c>pendingApproval</c> reads) a moment later when it suspends, so
    /// a test that reads <c>pendingApproval</c> waits for both.
    /// </summary>
    public static async Task<JsonNode> WaitForPendingApprovalAsync(this HttpClient client, string serviceId, TimeSpan? timeout = null)
    {
        JsonNode? last = null;
        return await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetServiceAsync(serviceId);
                return last.State() == "AwaitingApproval" && last["pendingApproval"] is not null ? last : null;
            },
            $"service {serviceId} to wait for approval",
            timeout,
            () => $"Last seen: {last?.ToJsonString()}");
    }
}
