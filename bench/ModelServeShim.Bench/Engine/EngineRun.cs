namespace ModelServeShim.Bench.Engine;

/// <summary>One engine at one load level, with its self-check.</summary>
/// <param name="Engine">Which engine and settings.</param>
/// <param name="Level">The load level.</param>
/// <param name="Load">The measured run.</param>
/// <param name="StepGapsMs">Time between consecutive steps' starts, from the stored step rows.</param>
/// <param name="Check">What the self-check found, for the table.</param>
/// <param name="Passed">True when every instance completed and every step is recorded.</param>
/// <param name="Notes">Diagnostics (write batches and the like).</param>
internal sealed record EngineRun(string Engine, LoadLevel Level, LoadResult Load, double[] StepGapsMs, string Check, bool Passed, string Notes)
{
    public double StepGapP50 => Percentiles.Of(StepGapsMs, 50);
}
