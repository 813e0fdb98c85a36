using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Npgsql;
using NpgsqlTypes;

namespace ModelServeShim.Workflows.Persistence.Postgres;

/// <summary>
/// The PostgreSQL writer: one <see cref="NpgsqlBatch"/> per batch of changes, in one transaction and one round trip,
/// on a pooled connection whose data source prepares the statements automatically (they repeat with every batch, so
/// they run as prepared statements). It writes the values EF Core would (the schema and its conversions come from
/// <see cref="WorkflowDbContext"/> and its PostgreSQL migrations), and only the columns each transition changes.
/// </summary>
/// <remarks>
/// A batch that appends journal entries also notifies <see cref="PostgresStateStore.JournalChannel"/> (delivered at commit) with the ids of
/// their instances, so that journal follows on other replicas read the new entries at once.
/// </remarks>
internal sealed class PostgresStateWriter(NpgsqlDataSource dataSource) : IStateWriter
{
    // PostgreSQL's limit is 8000 bytes per payload; beyond this the payload is empty ("look at all").
    private const int MaxNotifyPayload = 7000;

    // The conversions WorkflowDbContext configures: DateTimeOffset as a sortable integer, enums as names.
    private static readonly Func<DateTimeOffset, long> ToBinary = new DateTimeOffsetToBinaryConverter().ConvertToProviderExpression.Compile();

    private const string InsertInstance = """
        INSERT INTO workflow_instances ("Id", "DefinitionId", "DefinitionVersion", "Status", "InputJson", "OutputJson", "CorrelationId", "Operator",
            "CreatedAt", "StartedAt", "UpdatedAt", "FinishedAt", "FaultedStep", "ErrorType", "ErrorMessage", "ResumeCount", "Owner", "CancelReason",
            "CancelRequestedBy")
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
        """;

    private const string StartInstance = """UPDATE workflow_instances SET "Status" = $2, "StartedAt" = $3, "UpdatedAt" = $4 WHERE "Id" = $1""";

    private const string ResumeInstance = """UPDATE workflow_instances SET "ResumeCount" = $2, "UpdatedAt" = $3 WHERE "Id" = $1""";

    private const string FinishInstance = """
        UPDATE workflow_instances SET "Status" = $2, "OutputJson" = $3, "FinishedAt" = $4, "UpdatedAt" = $4, "FaultedStep" = $5, "ErrorType" = $6,
            "ErrorMessage" = $7
        WHERE "Id" = $1
        """;

    private const string InstanceStatusSql = """UPDATE workflow_instances SET "Status" = $2, "UpdatedAt" = $3 WHERE "Id" = $1""";

    private const string InsertBookmark = """
        INSERT INTO workflow_bookmarks ("Id", "InstanceId", "ActivityId", "Name", "Description", "Roles", "PayloadSchemaJson", "CreatedAt", "TimeoutAt",
            "ResolvedAt", "Resolution", "ResolvedBy", "PayloadJson")
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        """;

    private const string InsertStep = """
        INSERT INTO step_executions ("Id", "InstanceId", "ActivityId", "ActivityType", "Attempt", "Status", "StartedAt", "EndedAt", "ErrorType",
            "ErrorMessage", "Retryable", "RetryDelayMs", "IsFinal", "Outcome", "OutputJson", "InputJson")
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        """;

    private const string EndStep = """
        UPDATE step_executions SET "Status" = $2, "EndedAt" = $3, "ErrorType" = $4, "ErrorMessage" = $5, "Retryable" = $6, "RetryDelayMs" = $7,
            "IsFinal" = $8, "Outcome" = $9, "OutputJson" = $10, "InputJson" = $11
        WHERE "Id" = $1
        """;

    private const string InsertJournal = """
        INSERT INTO journal_entries ("InstanceId", "Sequence", "Timestamp", "Level", "ActivityId", "Attempt", "Event", "Message", "PropertiesJson")
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        RETURNING "Id", "InstanceId", "Sequence"
        """;

    public async Task WriteAsync(IReadOnlyList<StateChange> changes)
    {
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var updates = new List<(NpgsqlBatchCommand Command, string Table, object Id)>();
        var journal = new Dictionary<(string, long), JournalRecord>();
        foreach (var change in changes)
        {
            batch.BatchCommands.Add(Command(change, updates, journal));
        }

        if (journal.Count > 0)
        {
            var payload = string.Join('\n', journal.Keys.Select(k => k.Item1).Distinct(StringComparer.Ordinal));
            batch.BatchCommands.Add(Sql("SELECT pg_notify($1, $2)", Text(PostgresStateStore.JournalChannel), Text(payload.Length <= MaxNotifyPayload ? payload : "")));
        }

        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            // Only the journal inserts return rows of three columns (the notification one of one): hand the store's keys back, matched by (instance, sequence).
            do
            {
                while (reader.FieldCount == 3 && await reader.ReadAsync().ConfigureAwait(false))
                {
                    journal[(reader.GetString(1), reader.GetInt64(2))].Id = reader.GetInt64(0);
                }
            }
            while (await reader.NextResultAsync().ConfigureAwait(false));
        }

        foreach (var (command, table, id) in updates)
        {
            if (command.RecordsAffected != 1)
            {
                throw new InvalidOperationException($"No {table} row '{id}' to update.");
            }
        }

        await transaction.CommitAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        // Connections are per batch, from the data source's pool; the store disposes the data source.
    }

    private static NpgsqlBatchCommand Command(StateChange change, List<(NpgsqlBatchCommand, string, object)> updates, Dictionary<(string, long), JournalRecord> journal)
    {
        switch (change)
        {
            case InstanceInserted c:
                {
                    var r = c.Row;
                    return Sql(InsertInstance, Text(r.Id), Text(r.DefinitionId), Int(r.DefinitionVersion), Text(r.Status.ToString()), Text(r.InputJson),
                        Text(r.OutputJson), Text(r.CorrelationId), Text(r.Operator), Time(r.CreatedAt), Time(r.StartedAt), Time(r.UpdatedAt), Time(r.FinishedAt),
                        Text(r.FaultedStep), Text(r.ErrorType), Text(r.ErrorMessage), Int(r.ResumeCount),
                        Text(r.Owner), Text(r.CancelReason), Text(r.CancelRequestedBy));
                }

            case InstanceStarted c:
                return Update(updates, "workflow_instances", c.Id, Sql(StartInstance, Text(c.Id), Text(nameof(InstanceStatus.Running)), Time(c.StartedAt), Time(c.UpdatedAt)));
            case InstanceResumed c:
                return Update(updates, "workflow_instances", c.Id, Sql(ResumeInstance, Text(c.Id), Int(c.ResumeCount), Time(c.UpdatedAt)));
            case InstanceFinished c:
                return Update(updates, "workflow_instances", c.Id, Sql(FinishInstance, Text(c.Id), Text(c.Status.ToString()), Text(c.OutputJson),
                    Time(c.FinishedAt), Text(c.FaultedStep), Text(c.ErrorType), Text(c.ErrorMessage)));
            case InstanceStatusChanged c:
                return Update(updates, "workflow_instances", c.Id, Sql(InstanceStatusSql, Text(c.Id), Text(c.Status.ToString()), Time(c.UpdatedAt)));
            case BookmarkCreated c:
                {
                    var r = c.Row;
                    return Sql(InsertBookmark, Uuid(r.Id), Text(r.InstanceId), Text(r.ActivityId), Text(r.Name), Text(r.Description), Text(r.Roles),
                        Text(r.PayloadSchemaJson), Time(r.CreatedAt), Time(r.TimeoutAt), Time(r.ResolvedAt), Text(r.Resolution), Text(r.ResolvedBy),
                        Text(r.PayloadJson));
                }

            case StepStarted c:
                {
                    var r = c.Row;
                    return Sql(InsertStep, Uuid(r.Id), Text(r.InstanceId), Text(r.ActivityId), Text(r.ActivityType), Int(r.Attempt), Text(r.Status.ToString()),
                        Time(r.StartedAt), Time(r.EndedAt), Text(r.ErrorType), Text(r.ErrorMessage), Bool(r.Retryable), Double(r.RetryDelayMs), Bool(r.IsFinal),
                        Text(r.Outcome), Text(r.OutputJson), Text(r.InputJson));
                }

            case StepEnded c:
                {
                    var r = c.Row;
                    return Update(updates, "step_executions", r.Id, Sql(EndStep, Uuid(r.Id), Text(r.Status.ToString()), Time(r.EndedAt), Text(r.ErrorType),
                        Text(r.ErrorMessage), Bool(r.Retryable), Double(r.RetryDelayMs), Bool(r.IsFinal), Text(r.Outcome), Text(r.OutputJson), Text(r.InputJson)));
                }

            case JournalAppended c:
                {
                    var r = c.Row;
                    journal[(r.InstanceId, r.Sequence)] = r;
                    return Sql(InsertJournal, Text(r.InstanceId), Long(r.Sequence), Time(r.Timestamp), Text(r.Level), Text(r.ActivityId), Int(r.Attempt),
                        Text(r.Event), Text(r.Message), Text(r.PropertiesJson));
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "Unknown state change.");
        }
    }

    private static NpgsqlBatchCommand Update(List<(NpgsqlBatchCommand, string, object)> updates, string table, object id, NpgsqlBatchCommand command)
    {
        updates.Add((command, table, id));
        return command;
    }

    private static NpgsqlBatchCommand Sql(string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(p);
        }

        return command;
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int(int? value) => new() { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Long(long value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value };

    private static NpgsqlParameter Double(double? value) => new() { NpgsqlDbType = NpgsqlDbType.Double, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Bool(bool? value) => new() { NpgsqlDbType = NpgsqlDbType.Boolean, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Uuid(Guid value) => new() { NpgsqlDbType = NpgsqlDbType.Uuid, Value = value };

    private static NpgsqlParameter Time(DateTimeOffset? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? ToBinary(v) : DBNull.Value };
}
