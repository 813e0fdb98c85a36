using ModelServeShim.LlamaServer.Inference;

namespace ModelServeShim.LlamaServer.Hosting;

/// <summary>Loads the model once Kestrel is listening, so <c>/health</c> answers 503 while the weights load.</summary>
internal sealed class ModelLoader(LlamaInference inference, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }

        await inference.LoadAsync(stoppingToken);
    }
}
