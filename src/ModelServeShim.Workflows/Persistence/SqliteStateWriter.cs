using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// The SQLite writer: prepared commands on one long-lived connection, one transaction per batch. It writes
/// the same values EF Core would (the schema and its conversions come from <see cref="WorkflowDbContext"/> and
/// its migrations), without EF Core's per-row SQL generation, re-preparation and full-row updates.
/// </summary>
internal sealed class SqliteStateWriter(string connectionString) : IStateWriter
{
    // The same conversions WorkflowDbContext configures: DateTimeOffset as a sortable integer, enums as
    // names, Guid as upper-case text (EF Core's SQLite mapping), bool as 0/1.
    private static readonly Func<DateTimeOffset, long> ToBinary = new DateTimeOffsetToBinaryConverter().ConvertToProviderExpression.Compile();

    private SqliteConnection? _connection;
    private SqliteCommand _insertInstance = null!;
    private SqliteCommand _startInstance = null!;
    private SqliteCommand _resumeInstance = null!;
    private SqliteCommand _finishInstance = null!;
    private SqliteCommand _insertStep = null!;
    private SqliteCommand _endStep = null!;
    private SqliteCommand _insertJournal = null!;
    private SqliteCommand _instanceStatus = null!;
    private SqliteCommand _insertBookmark = null!;
    private SqliteCommand _lastRowId = null!;
    private SqliteCommand[] _commands = [];

    public Task WriteAsync(IReadOnlyList<StateChange> changes)
    {
        var connection = _connection ?? Open();
        using var transaction = connection.BeginTransaction();
        foreach (var c in _commands)
        {
            c.Transaction = transaction;
        }

        foreach (var change in changes)
        {
            Apply(change);
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var c in _commands)
        {
            c.Dispose();
        }

        _connection?.Dispose();
        _connection = null;
    }

    private void Apply(StateChange change)
    {
        switch (change)
        {
            case InstanceInserted c:
                {
                    var r = c.Row;
                    Run(_insertInstance, r.Id, r.DefinitionId, r.DefinitionVersion, r.Status.ToString(), r.InputJson, r.OutputJson, r.CorrelationId,
                        r.Operator, ToBinary(r.CreatedAt), Time(r.StartedAt), ToBinary(r.UpdatedAt), Time(r.FinishedAt), r.FaultedStep, r.ErrorType,
                        r.ErrorMessage, r.ResumeCount, r.Owner, r.CancelReason, r.CancelRequestedBy);
                    break;
                }

            case InstanceStarted c:
                Update(_startInstance, "workflow_instances", c.Id, c.Id, InstanceStatus.Running.ToString(), ToBinary(c.StartedAt), ToBinary(c.UpdatedAt));
                break;
            case InstanceResumed c:
                Update(_resumeInstance, "workflow_instances", c.Id, c.Id, c.ResumeCount, ToBinary(c.UpdatedAt));
                break;
            case InstanceFinished c:
                Update(_finishInstance, "workflow_instances", c.Id, c.Id, c.Status.ToString(), c.OutputJson, ToBinary(c.FinishedAt), c.FaultedStep,
                    c.ErrorType, c.ErrorMessage);
                break;
            case InstanceStatusChanged c:
                Update(_instanceStatus, "workflow_instances", c.Id, c.Id, c.Status.ToString(), ToBinary(c.UpdatedAt));
                break;
            case BookmarkCreated c:
                {
                    var r = c.Row;
                    Run(_insertBookmark, Key(r.Id), r.InstanceId, r.ActivityId, r.Name, r.Description, r.Roles, r.PayloadSchemaJson, ToBinary(r.CreatedAt),
                        Time(r.TimeoutAt), Time(r.ResolvedAt), r.Resolution, r.ResolvedBy, r.PayloadJson);
                    break;
                }

            case StepStarted c:
                {
                    var r = c.Row;
                    Run(_insertStep, Key(r.Id), r.InstanceId, r.ActivityId, r.ActivityType, r.Attempt, r.Status.ToString(), ToBinary(r.StartedAt),
                        Time(r.EndedAt), r.ErrorType, r.ErrorMessage, r.Retryable, r.RetryDelayMs, r.IsFinal, r.Outcome, r.OutputJson, r.InputJson);
                    break;
                }

            case StepEnded c:
                {
                    var r = c.Row;
                    Update(_endStep, "step_executions", r.Id, Key(r.Id), r.Status.ToString(), Time(r.EndedAt), r.ErrorType, r.ErrorMessage,
                        r.Retryable, r.RetryDelayMs, r.IsFinal, r.Outcome, r.OutputJson, r.InputJson);
                    break;
                }

            case JournalAppended c:
                {
                    var r = c.Row;
                    Run(_insertJournal, r.InstanceId, r.Sequence, ToBinary(r.Timestamp), r.Level, r.ActivityId, r.Attempt, r.Event, r.Message,
                        r.PropertiesJson);
                    r.Id = (long)_lastRowId.ExecuteScalar()!;
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "Unknown state change.");
        }
    }

    private static void Update(SqliteCommand command, string table, object id, params ReadOnlySpan<object?> values)
    {
        if (Run(command, values) != 1)
        {
            throw new InvalidOperationException($"No {table} row '{id}' to update.");
        }
    }

    private static int Run(SqliteCommand command, params ReadOnlySpan<object?> values)
    {
        var parameters = command.Parameters;
        for (var i = 0; i < values.Length; i++)
        {
            parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command.ExecuteNonQuery();
    }

    private static object? Time(DateTimeOffset? value) => value is { } v ? ToBinary(v) : null;

    private static string Key(Guid id) => id.ToString().ToUpperInvariant();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = SqliteSetup.Pragmas;
            pragma.ExecuteNonQuery();
        }

        _insertInstance = Prepare(connection, """
            INSERT INTO workflow_instances (Id, DefinitionId, DefinitionVersion, Status, InputJson, OutputJson, CorrelationId, Operator,
                CreatedAt, StartedAt, UpdatedAt, FinishedAt, FaultedStep, ErrorType, ErrorMessage, ResumeCount, Owner, CancelReason, CancelRequestedBy)
            VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15, $p16, $p17, $p18)
            """, 19);
        _startInstance = Prepare(connection, "UPDATE workflow_instances SET Status = $p1, StartedAt = $p2, UpdatedAt = $p3 WHERE Id = $p0", 4);
        _resumeInstance = Prepare(connection, "UPDATE workflow_instances SET ResumeCount = $p1, UpdatedAt = $p2 WHERE Id = $p0", 3);
        _finishInstance = Prepare(connection, """
            UPDATE workflow_instances SET Status = $p1, OutputJson = $p2, FinishedAt = $p3, UpdatedAt = $p3, FaultedStep = $p4, ErrorType = $p5,
                ErrorMessage = $p6
            WHERE Id = $p0
            """, 7);
        _insertStep = Prepare(connection, """
            INSERT INTO step_executions (Id, InstanceId, ActivityId, ActivityType, Attempt, Status, StartedAt, EndedAt, ErrorType, ErrorMessage,
                Retryable, RetryDelayMs, IsFinal, Outcome, OutputJson, InputJson)
            VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15)
            """, 16);
        _endStep = Prepare(connection, """
            UPDATE step_executions SET Status = $p1, EndedAt = $p2, ErrorType = $p3, ErrorMessage = $p4, Retryable = $p5, RetryDelayMs = $p6,
                IsFinal = $p7, Outcome = $p8, OutputJson = $p9, InputJson = $p10
            WHERE Id = $p0
            """, 11);
        _insertJournal = Prepare(connection, """
            INSERT INTO journal_entries (InstanceId, Sequence, Timestamp, Level, ActivityId, Attempt, Event, Message, PropertiesJson)
            VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8)
            """, 9);
        _instanceStatus = Prepare(connection, "UPDATE workflow_instances SET Status = $p1, UpdatedAt = $p2 WHERE Id = $p0", 3);
        _insertBookmark = Prepare(connection, """
            INSERT INTO workflow_bookmarks (Id, InstanceId, ActivityId, Name, Description, Roles, PayloadSchemaJson, CreatedAt, TimeoutAt, ResolvedAt,
                Resolution, ResolvedBy, PayloadJson)
            VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12)
            """, 13);
        _lastRowId = Prepare(connection, "SELECT last_insert_rowid()", 0);
        _commands = [_insertInstance, _startInstance, _resumeInstance, _finishInstance, _insertStep, _endStep, _insertJournal, _instanceStatus, _insertBookmark, _lastRowId];
        _connection = connection;
        return connection;
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, int parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < parameters; i++)
        {
            command.Parameters.Add(new SqliteParameter($"$p{i}", null));
        }

        command.Prepare();
        return command;
    }
}
