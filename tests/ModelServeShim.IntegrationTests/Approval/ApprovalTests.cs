using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Approval;

/// <summary>
/// A deploy through a pipeline with an approval step, over HTTP: the service waits in AwaitingApproval (its instance
/// Suspended, waiting for signal <c>approval</c>), an approver (or an admin) decides, an operator cannot.
/// </summary>
public sealed class ApprovalTests(ApprovalModServFactory factory) : IClassFixture<ApprovalModServFactory>
{
    private static JsonObject Deploy(string name, string pipeline = ApprovalPipelines.Waiting)
    {
        var body = ModServClient.Body(name);
        body["pipeline"] = pipeline;
        return body;
    }

    private static StringContent Decision(string decision, string? comment) =>
        ApiClient.Json(new JsonObject { ["decision"] = decision, ["comment"] = comment }.ToJsonString());

    [Fact]
    public async Task Deploy_WaitsForApproval_OperatorGets403_ApproverApproves_ServiceRuns_SecondApprovalIs409()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var approver = factory.CreateClient(ApprovalModServFactory.ApproverKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("approved-model"));

        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        Assert.Equal("approval", (string?)waiting["currentStep"]);
        var pending = waiting["pendingApproval"]!;
        Assert.Equal("approval", (string?)pending["signal"]!["signal"]);
        Assert.Equal(["approver"], pending["signal"]!["roles"]!.AsArray().Select(r => (string)r!));
        Assert.Contains("approved-model", (string?)pending["signal"]!["description"], StringComparison.Ordinal);
        var instanceId = (string)pending["instanceId"]!;
        var instance = await (await operatorClient.GetAsync($"/api/v1/workflow-instances/{instanceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Suspended", (string?)instance["instance"]!["status"]);
        Assert.Equal(["approval"], instance["instance"]!["waitingFor"]!.AsArray().Select(w => (string)w!["signal"]!));
        var pipeline = await operatorClient.GetPipelineAsync(serviceId);
        Assert.Equal("Suspended", (string?)pipeline["steps"]!.AsArray().Single(s => (string?)s!["name"] == "approval")!["status"]);
        Assert.DoesNotContain(factory.Shimlet.Applied, a => a.ServiceId == serviceId);

        var refused = await (await operatorClient.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "me"))
            .ExpectAsync(HttpStatusCode.Forbidden)).ReadJsonAsync();
        Assert.Equal(403, (int)refused["code"]!);
        Assert.Contains("approver", (string?)refused["message"], StringComparison.Ordinal);
        Assert.Equal("AwaitingApproval", (await operatorClient.GetServiceAsync(serviceId)).State());

        var accepted = await (await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", "budget ok"))
            .ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("approver1", (string?)accepted["data"]!["by"]);

        var running = await operatorClient.WaitForStateAsync(serviceId, "Running");
        var signOff = running.History().Single(h => ((string)h["reason"]!).Contains("approved by approver1: budget ok", StringComparison.Ordinal));
        Assert.Equal("approver1", (string?)signOff["operator"]);
        Assert.Equal("AwaitingApproval", (string?)signOff["from"]);
        Assert.Null(running["pendingApproval"]);

        var logs = await operatorClient.GetDataAsync($"{ModServClient.Base}/{serviceId}/pipeline/logs");
        var entries = logs["items"]!.AsArray();
        Assert.Contains(entries, e => (string?)e!["event"] == "SignalReceived" && (string?)e["properties"]!["by"] == "approver1");
        Assert.Contains(entries, e => (string?)e!["event"] == "StepLog" && ((string)e["message"]!).Contains("Approved by approver1: budget ok", StringComparison.Ordinal));

        var again = await (await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("approve", null))
            .ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();
        Assert.Equal("Running", (string?)again["state"]);
        Assert.Contains("already received (by approver1", (string?)again["message"], StringComparison.Ordinal);
        var signalAgain = await (await approver.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", Decision("reject", null))
            .ExpectAsync(HttpStatusCode.Conflict)).ReadJsonAsync();
        Assert.Contains("not waiting for signal 'approval'", (string?)signalAgain["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reject_EndsTheServiceFailed_WithTheComment_AndDeploysNothing()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var approver = factory.CreateClient(ApprovalModServFactory.ApproverKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("rejected-model"));
        await operatorClient.WaitForPendingApprovalAsync(serviceId);

        await approver.PostAsync($"{ModServClient.Base}/{serviceId}/approval", Decision("reject", "licence not cleared")).ExpectAsync(HttpStatusCode.OK);
        var failed = await operatorClient.WaitForStateAsync(serviceId, "Failed");

        Assert.Equal("rejected", (string?)failed["lastError"]!["step"]);
        Assert.Equal("ApprovalRejected", (string?)failed["lastError"]!["type"]);
        Assert.Equal("Rejected by approver1: licence not cleared", (string?)failed["lastError"]!["message"]);
        Assert.Contains(failed.History(), h => (string?)h["operator"] == "approver1" && ((string)h["reason"]!).Contains("rejected by approver1: licence not cleared", StringComparison.Ordinal));
        Assert.DoesNotContain(factory.Shimlet.Applied, a => a.ServiceId == serviceId);
    }

    [Fact]
    public async Task NobodyDecides_TheTimeoutPortLeadsToFailure()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("late-model", ApprovalPipelines.Short));

        var failed = await operatorClient.WaitForStateAsync(serviceId, "Failed", TimeSpan.FromSeconds(30));

        Assert.Equal("timed-out", (string?)failed["lastError"]!["step"]);
        var pipeline = await operatorClient.GetPipelineAsync(serviceId);
        Assert.Equal("TimedOut", (string?)pipeline["steps"]!.AsArray().Single(s => (string?)s!["name"] == "approval")!["outcome"]);
        Assert.Contains(failed.History(), h => ((string)h["reason"]!).Contains("nobody approved in time", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AdminApprovesThroughTheSignalEndpoint_ABadPayloadIs400_AndNothingIsResolvedByIt()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var admin = factory.CreateClient(ApprovalModServFactory.AdminKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("admin-approved"));
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        var instanceId = (string)waiting["pendingApproval"]!["instanceId"]!;

        var bad = await (await admin.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", ApiClient.Json("""{"decision":"perhaps"}"""))
            .ExpectAsync(HttpStatusCode.BadRequest)).ReadJsonAsync();
        Assert.Contains(bad["errors"]!.AsArray(), e => (string?)e!["path"] == "$.decision");
        await admin.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", ApiClient.Json("{not json")).ExpectAsync(HttpStatusCode.BadRequest);
        await admin.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/other", Decision("approve", null)).ExpectAsync(HttpStatusCode.Conflict);
        await operatorClient.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", Decision("approve", null)).ExpectAsync(HttpStatusCode.Forbidden);
        await admin.PostAsync($"{ModServClient.Base}/{serviceId}/approval", ApiClient.Json("""{"decision":"yes"}""")).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("AwaitingApproval", (await operatorClient.GetServiceAsync(serviceId)).State());

        var accepted = await (await admin.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", Decision("approve", "admin override"))
            .ExpectAsync(HttpStatusCode.Accepted)).ReadJsonAsync();
        Assert.Equal("admin1", (string?)accepted["by"]);
        var running = await operatorClient.WaitForStateAsync(serviceId, "Running");
        Assert.Contains(running.History(), h => (string?)h["operator"] == "admin1");
    }

    [Fact]
    public async Task Undeploy_WhileAwaitingApproval_CancelsTheSuspendedPipeline_AndStops()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var approver = factory.CreateClient(ApprovalModServFactory.ApproverKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("withdrawn-model"));
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        var instanceId = (string)waiting["pendingApproval"]!["instanceId"]!;

        await operatorClient.DeleteAsync($"{ModServClient.Base}/{serviceId}").ExpectAsync(HttpStatusCode.OK);
        await operatorClient.WaitForStateAsync(serviceId, "Stopped");

        var instance = await (await operatorClient.GetAsync($"/api/v1/workflow-instances/{instanceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Cancelled", (string?)instance["instance"]!["status"]);
        await approver.PostAsync($"/api/v1/workflow-instances/{instanceId}/signals/approval", Decision("approve", null)).ExpectAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task LiveEvents_ShowTheInstanceSuspended_WithWhatItWaitsFor()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await operatorClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var serviceId = await operatorClient.DeployAsync(Deploy("evented-approval"));
        JsonNode? suspended = null;
        while (suspended is null)
        {
            var e = await reader.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("The stream ended.");
            var data = JsonNode.Parse(e.Data)!;
            if (e.Event == "instance" && (string?)data["correlationId"] == serviceId && (string?)data["status"] == "Suspended")
            {
                suspended = data;
            }
        }

        var waiting = suspended["waitingFor"]!.AsArray().Single()!;
        Assert.Equal("approval", (string?)waiting["signal"]);
        Assert.Equal("approval", (string?)waiting["activityId"]);
        Assert.Equal(["approver"], waiting["roles"]!.AsArray().Select(r => (string)r!));
    }

    [Fact]
    public async Task CancelThroughTheInstanceApi_WhileSuspended_EndsItCancelled_AndTheServiceFailed()
    {
        var operatorClient = factory.CreateClient(ApprovalModServFactory.OperatorKey);
        var serviceId = await operatorClient.DeployAsync(Deploy("cancelled-approval"));
        var waiting = await operatorClient.WaitForPendingApprovalAsync(serviceId);
        var instanceId = (string)waiting["pendingApproval"]!["instanceId"]!;

        var accepted = await (await operatorClient.PostAsync($"/api/v1/workflow-instances/{instanceId}/cancel", ApiClient.Json("""{"reason":"wrong model"}"""))
            .ExpectAsync(HttpStatusCode.Accepted)).ReadJsonAsync();
        Assert.Equal("Suspended", (string?)accepted["status"]);
        var failed = await operatorClient.WaitForStateAsync(serviceId, "Failed");

        Assert.Contains("wrong model (by operator1)", (string?)failed["lastError"]!["message"], StringComparison.Ordinal);
        var instance = await (await operatorClient.GetAsync($"/api/v1/workflow-instances/{instanceId}").ExpectAsync(HttpStatusCode.OK)).ReadJsonAsync();
        Assert.Equal("Cancelled", (string?)instance["instance"]!["status"]);
        Assert.Empty(instance["instance"]!["waitingFor"]!.AsArray());
        await operatorClient.PostAsync($"/api/v1/workflow-instances/{instanceId}/cancel", null).ExpectAsync(HttpStatusCode.Conflict);
    }
}
