using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// The provider-neutral writer: one pooled <see cref="WorkflowDbContext"/> and one <c>SaveChanges</c> per batch.
/// Updates mark only the columns their transition changes; several changes to one row in a batch merge into
/// the row's last values.
/// </summary>
internal sealed class EfStateWriter(IDbContextFactory<WorkflowDbContext> factory) : IStateWriter
{
    public async Task WriteAsync(IReadOnlyList<StateChange> changes)
    {
        await using var db = await factory.CreateDbContextAsync().ConfigureAwait(false);
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        foreach (var change in changes)
        {
            Apply(db, change);
        }

        await db.SaveChangesAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        // Contexts are per batch; nothing is held between batches.
    }

    private static void Apply(WorkflowDbContext db, StateChange change)
    {
        switch (change)
        {
            case InstanceInserted c:
                db.Instances.Add(c.Row);
                break;
            case InstanceStarted c:
                {
                    var e = Instance(db, c.Id);
                    Set(e, nameof(InstanceRecord.Status), InstanceStatus.Running);
                    Set(e, nameof(InstanceRecord.StartedAt), (DateTimeOffset?)c.StartedAt);
                    Set(e, nameof(InstanceRecord.UpdatedAt), c.UpdatedAt);
                    break;
                }

            case InstanceResumed c:
                {
                    var e = Instance(db, c.Id);
                    Set(e, nameof(InstanceRecord.ResumeCount), c.ResumeCount);
                    Set(e, nameof(InstanceRecord.UpdatedAt), c.UpdatedAt);
                    break;
                }

            case InstanceFinished c:
                {
                    var e = Instance(db, c.Id);
                    Set(e, nameof(InstanceRecord.Status), c.Status);
                    Set(e, nameof(InstanceRecord.OutputJson), c.OutputJson);
                    Set(e, nameof(InstanceRecord.FinishedAt), (DateTimeOffset?)c.FinishedAt);
                    Set(e, nameof(InstanceRecord.UpdatedAt), c.FinishedAt);
                    Set(e, nameof(InstanceRecord.FaultedStep), c.FaultedStep);
                    Set(e, nameof(InstanceRecord.ErrorType), c.ErrorType);
                    Set(e, nameof(InstanceRecord.ErrorMessage), c.ErrorMessage);
                    break;
                }

            case InstanceStatusChanged c:
                {
                    var e = Instance(db, c.Id);
                    Set(e, nameof(InstanceRecord.Status), c.Status);
                    Set(e, nameof(InstanceRecord.UpdatedAt), c.UpdatedAt);
                    break;
                }

            case BookmarkCreated c:
                db.Bookmarks.Add(c.Row);
                break;
            case StepStarted c:
                db.StepExecutions.Add(c.Row);
                break;
            case StepEnded c:
                {
                    var r = c.Row;
                    var e = db.StepExecutions.Local.FindEntry(r.Id) ?? db.StepExecutions.Attach(new StepExecutionRecord { Id = r.Id });
                    Set(e, nameof(StepExecutionRecord.Status), r.Status);
                    Set(e, nameof(StepExecutionRecord.EndedAt), r.EndedAt);
                    Set(e, nameof(StepExecutionRecord.ErrorType), r.ErrorType);
                    Set(e, nameof(StepExecutionRecord.ErrorMessage), r.ErrorMessage);
                    Set(e, nameof(StepExecutionRecord.Retryable), r.Retryable);
                    Set(e, nameof(StepExecutionRecord.RetryDelayMs), r.RetryDelayMs);
                    Set(e, nameof(StepExecutionRecord.IsFinal), r.IsFinal);
                    Set(e, nameof(StepExecutionRecord.Outcome), r.Outcome);
                    Set(e, nameof(StepExecutionRecord.OutputJson), r.OutputJson);
                    Set(e, nameof(StepExecutionRecord.InputJson), r.InputJson);
                    break;
                }

            case JournalAppended c:
                db.Journal.Add(c.Row);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "Unknown state change.");
        }
    }

    private static EntityEntry<InstanceRecord> Instance(WorkflowDbContext db, string id) =>
        db.Instances.Local.FindEntry(id) ?? db.Instances.Attach(new InstanceRecord { Id = id });

    /// <summary>Sets a column; on a row not inserted in this batch, marks only that column modified.</summary>
    private static void Set<T>(EntityEntry<T> entry, string property, object? value) where T : class
    {
        var p = entry.Property(property);
        p.CurrentValue = value;
        if (entry.State != EntityState.Added)
        {
            p.IsModified = true;
        }
    }
}
