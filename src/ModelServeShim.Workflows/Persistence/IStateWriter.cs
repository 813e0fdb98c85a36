namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// Writes batches of runtime changes for the <see cref="WriteQueue"/>. Chosen where the store is registered:
/// <see cref="SqliteStateWriter"/> for SQLite, <see cref="EfStateWriter"/> (provider-neutral) for anything else.
/// </summary>
internal interface IStateWriter : IDisposable
{
    /// <summary>
    /// Applies the changes in order, in one transaction: all of them are committed, or none and it throws.
    /// An update of a row that does not exist fails the batch. Called by one writer at a time.
    /// </summary>
    Task WriteAsync(IReadOnlyList<StateChange> changes);
}
