using System.Globalization;
using System.Net;
using ModelServeShim.IntegrationTests.Infrastructure;
using ModelServeShim.IntegrationTests.ModServ;

namespace ModelServeShim.IntegrationTests.Gateway;

/// <summary>The gateway host with a one-second replica cooldown.</summary>
public sealed class ShortCooldownGatewayFactory : GatewayFactory
{
    protected override IEnumerable<KeyValuePair<string, string>> Keys => [new("Gateway:ReplicaCooldown", "00:00:01")];
}

public sealed class GatewayCooldownTests(ShortCooldownGatewayFactory factory) : IClassFixture<ShortCooldownGatewayFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task AReplicaLeftOut_IsPutBackAfterTheCooldown_WhenItAnswersAgain()
    {
        var serviceId = await _client.DeployAsync(ModServClient.Body("gw-back"));
        await _client.WaitForStateAsync(serviceId, "Running");
        var one = FakeRuntime.Start();
        var two = FakeRuntime.Start();
        var port = one.BaseAddress.Port;
        FakeRuntime? back = null;
        try
        {
            factory.Shimlet.SetReplicaRuntimes(serviceId, [one, two]);
            await _client.PostAsync($"{ModServClient.Base}/{serviceId}/scale", ApiClient.Json("""{"replicaCount": 2}""")).ExpectAsync(HttpStatusCode.OK);
            await one.DisposeAsync();
            for (var i = 0; i < 4; i++)
            {
                await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-back")).ExpectAsync(HttpStatusCode.OK);
            }

            // The replica comes back on its port (the status never stopped listing it); after the cooldown it gets requests again.
            back = FakeRuntime.StartOn(port);
            back.Lookup = two.Lookup;
            await Poll.UntilAsync(async () =>
            {
                var answer = await _client.PostAsync("/v1/chat/completions", GatewayClient.Chat("gw-back")).ExpectAsync(HttpStatusCode.OK);
                return answer.Headers.GetValues("X-Fake-Runtime").Single() == port.ToString(CultureInfo.InvariantCulture) ? "" : null;
            }, "the replica to be put back", TimeSpan.FromSeconds(15));
            Assert.Equal(1, await _client.MetricAsync($"modserv_gateway_replica_failures_total{{service=\"{serviceId}\",replica=\"127.0.0.1:{port}/svc/{serviceId}\"}}"));
        }
        finally
        {
            await one.DisposeAsync();
            await two.DisposeAsync();
            if (back is not null)
            {
                await back.DisposeAsync();
            }
        }
    }
}
