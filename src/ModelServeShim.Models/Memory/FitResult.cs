namespace ModelServeShim.Models.Memory;

/// <summary>Whether a model fits on some accelerators, and what would fit if it does not.</summary>
/// <param name="Fits">True when <see cref="RequiredBytes"/> ≤ <see cref="AvailableBytes"/>.</param>
/// <param name="Accelerator">The accelerator checked.</param>
/// <param name="AcceleratorCount">How many of them.</param>
/// <param name="RequiredBytes">Estimated total for the requested context on that many accelerators.</param>
/// <param name="AvailableBytes">Memory of all of them together.</param>
/// <param name="ExceedsByBytes">RequiredBytes − AvailableBytes when it does not fit, else 0.</param>
/// <param name="MaxContextLength">Largest context (tokens per sequence, at the requested concurrency) that fits on this count, capped at the model's own context length when known; 0 when not even the weights fit.</param>
/// <param name="MinAcceleratorCount">Smallest number of these accelerators that fits the requested context; null when no count can (the per-device fixed overhead and prefill activations alone exceed one device).</param>
/// <param name="Estimate">The estimate behind <see cref="RequiredBytes"/>.</param>
public sealed record FitResult(
    bool Fits,
    AcceleratorSpec Accelerator,
    int AcceleratorCount,
    long RequiredBytes,
    long AvailableBytes,
    long ExceedsByBytes,
    int MaxContextLength,
    int? MinAcceleratorCount,
    MemoryEstimate Estimate);
