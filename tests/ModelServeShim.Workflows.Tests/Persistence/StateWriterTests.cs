using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Persistence.Postgres;
using ModelServeShim.Workflows.Tests.Execution;

namespace ModelServeShim.Workflows.Tests.Persistence;

public class StateWriterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, 123, TimeSpan.FromHours(2));

    public static TheoryData<StoreWriter> Writers => [StoreWriter.Sqlite, StoreWriter.EntityFramework, StoreWriter.Postgres];

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Queue_BatchWithOneConstraintViolation_CommitsTheOthers(StoreWriter kind)
    {
        await using var store = await Store.CreateAsync(kind);
        var gate = new GatedWriter(store.Writer);
        var queue = new WriteQueue(gate, NullLogger<WriteQueue>.Instance);
        await using (queue)
        {
            var first = queue.EnqueueAsync(new InstanceInserted(Instance("a")));
            await gate.Entered.Task; // the writer holds the first change; the next ones queue up behind it

            var b = queue.EnqueueAsync(new InstanceInserted(Instance("b")), new JournalAppended(Entry("b", 1)));
            var duplicate = queue.EnqueueAsync(new InstanceInserted(Instance("c")), new JournalAppended(Entry("b", 1)));
            var d = queue.EnqueueAsync(new InstanceInserted(Instance("d")));
            gate.Release.SetResult();

            await first;
            await b;
            await d;
            await Assert.ThrowsAnyAsync<Exception>(() => duplicate);
        }

        Assert.Equal(5, gate.Batches[1]); // the three later requests were one batch, which failed as a whole
        await using var db = store.Context();
        Assert.Equal(["a", "b", "d"], await db.Instances.Select(i => i.Id).OrderBy(i => i).ToListAsync());
        Assert.Equal(1, await db.Journal.CountAsync()); // "c" and its entry were one request: neither landed
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Writer_RowInsertedAndUpdatedInOneBatch_EndsWithTheUpdatesValues(StoreWriter kind)
    {
        await using var store = await Store.CreateAsync(kind);
        var started = Step("a", StepStatus.Running);
        var ended = Step("a", StepStatus.Succeeded);
        ended.Id = started.Id;
        ended.EndedAt = T0.AddMilliseconds(5);
        ended.IsFinal = true;
        ended.Outcome = "Done";
        ended.OutputJson = """{"x":1}""";
        ended.InputJson = """{"y":2}""";
        var entry = Entry("i", 1);

        await store.Writer.WriteAsync([
            new InstanceInserted(Instance("i")),
            new StepStarted(started),
            new InstanceStarted("i", T0.AddMilliseconds(1), T0.AddMilliseconds(1)),
            new StepEnded(ended),
            new JournalAppended(entry),
            new InstanceFinished("i", InstanceStatus.Completed, """{"a":{}}""", T0.AddMilliseconds(9), null, null, null),
        ]);

        await using var db = store.Context();
        var instance = await db.Instances.SingleAsync();
        var step = await db.StepExecutions.SingleAsync();
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(T0.AddMilliseconds(1), instance.StartedAt);
        Assert.Equal(T0.AddMilliseconds(9), instance.FinishedAt);
        Assert.Equal(T0.AddMilliseconds(9), instance.UpdatedAt);
        Assert.Equal("""{"a":{}}""", instance.OutputJson);
        Assert.Equal(StepStatus.Succeeded, step.Status);
        Assert.Equal(T0, step.StartedAt);
        Assert.Equal(ended.EndedAt, step.EndedAt);
        Assert.True(step.IsFinal);
        Assert.Equal("Done", step.Outcome);
        Assert.Equal("""{"y":2}""", step.InputJson);
        Assert.Equal((await db.Journal.SingleAsync()).Id, entry.Id); // the store's key is handed back
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Writer_UpdateOfMissingRow_FailsTheWholeBatch(StoreWriter kind)
    {
        await using var store = await Store.CreateAsync(kind);

        await Assert.ThrowsAnyAsync<Exception>(() => store.Writer.WriteAsync([
            new InstanceInserted(Instance("i")),
            new InstanceStarted("missing", T0, T0),
        ]));

        await using var db = store.Context();
        Assert.Empty(await db.Instances.ToListAsync());
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Writer_UpdateChangesOnlyItsTransitionsColumns(StoreWriter kind)
    {
        await using var store = await Store.CreateAsync(kind);
        var step = Step("a", StepStatus.Running);
        step.InputJson = """{"kept":true}""";
        await store.Writer.WriteAsync([new InstanceInserted(Instance("i")), new StepStarted(step)]);

        // An end written from a record whose identity columns differ must not rewrite them.
        var end = Step("other", StepStatus.Failed);
        end.Id = step.Id;
        end.InstanceId = "someone-else";
        end.Attempt = 7;
        end.StartedAt = T0.AddDays(1);
        end.InputJson = step.InputJson;
        end.ErrorType = "Boom";
        await store.Writer.WriteAsync([new StepEnded(end), new InstanceResumed("i", 3, T0.AddDays(1))]);

        await using var db = store.Context();
        var stored = await db.StepExecutions.SingleAsync();
        var instance = await db.Instances.SingleAsync();
        Assert.Equal(("i", "a", 1, T0), (stored.InstanceId, stored.ActivityId, stored.Attempt, stored.StartedAt));
        Assert.Equal((StepStatus.Failed, "Boom"), (stored.Status, stored.ErrorType));
        Assert.Equal((InstanceStatus.Pending, 3, T0.AddDays(1), T0), (instance.Status, instance.ResumeCount, instance.UpdatedAt, instance.CreatedAt));
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task ProviderWriter_StoresExactlyWhatEfCoreStores(StateProvider provider)
    {
        await using var ef = await Store.CreateAsync(provider, entityFramework: true);
        await using var own = await Store.CreateAsync(provider, entityFramework: false);
        foreach (var store in new[] { ef, own })
        {
            var running = Step("a", StepStatus.Running);
            running.Id = new Guid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
            var failed = Step("a", StepStatus.TimedOut);
            failed.Id = running.Id;
            failed.EndedAt = T0.AddTicks(12_345);
            failed.ErrorType = "Timeout";
            failed.ErrorMessage = "slow";
            failed.Retryable = true;
            failed.RetryDelayMs = 1500.25;
            failed.InputJson = "{}";
            var instance = Instance("i");
            instance.CorrelationId = "svc-1";
            await store.Writer.WriteAsync([new InstanceInserted(instance), new StepStarted(running), new JournalAppended(Entry("i", 1))]);
            await store.Writer.WriteAsync([
                new StepEnded(failed),
                new InstanceStarted("i", T0.AddSeconds(1), T0.AddSeconds(1)),
                new InstanceFinished("i", InstanceStatus.Faulted, null, T0.AddSeconds(2), "a", "Timeout", "slow"),
                new JournalAppended(Entry("i", 2)),
            ]);
        }

        foreach (var table in new[] { "workflow_instances", "step_executions", "journal_entries" })
        {
            Assert.Equal(await RawRowsAsync(ef, table), await RawRowsAsync(own, table));
        }
    }

    private static async Task<List<string>> RawRowsAsync(Store store, string table)
    {
        await using var connection = store.OpenConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table} ORDER BY \"Id\"";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var values = Enumerable.Range(0, reader.FieldCount)
                .Select(i => $"{reader.GetName(i)}={reader.GetDataTypeName(i)}:{Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)}");
            rows.Add(string.Join("|", values));
        }

        Assert.NotEmpty(rows);
        return rows;
    }

    private static InstanceRecord Instance(string id) => new()
    {
        Id = id,
        DefinitionId = "def",
        DefinitionVersion = 1,
        Status = InstanceStatus.Pending,
        InputJson = "{}",
        Operator = "tester",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private static StepExecutionRecord Step(string activityId, StepStatus status) => new()
    {
        Id = Guid.CreateVersion7(),
        InstanceId = "i",
        ActivityId = activityId,
        ActivityType = "Test.Count",
        Attempt = 1,
        Status = status,
        StartedAt = T0,
    };

    private static JournalRecord Entry(string instanceId, long sequence) => new()
    {
        InstanceId = instanceId,
        Sequence = sequence,
        Timestamp = T0,
        Event = "Test",
        Message = "m",
        PropertiesJson = """{"operator":"tester"}""",
    };

    /// <summary>A migrated store (a SQLite file or a PostgreSQL database of the test cluster) and the writer under test.</summary>
    private sealed class Store : IAsyncDisposable, IDbContextFactory<WorkflowDbContext>
    {
        private readonly ServiceProvider _services;
        private readonly IDbContextFactory<WorkflowDbContext> _contexts;

        private Store(ServiceProvider services, bool entityFramework)
        {
            _services = services;
            _contexts = services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
            State = services.GetRequiredService<StateStore>();
            Writer = entityFramework ? new EfStateWriter(this) : State.CreateStateWriter();
        }

        public StateStore State { get; }

        public IStateWriter Writer { get; }

        public static Task<Store> CreateAsync(StoreWriter kind) =>
            CreateAsync(kind == StoreWriter.Postgres ? StateProvider.Postgres : StateProvider.Sqlite, kind == StoreWriter.EntityFramework);

        public static async Task<Store> CreateAsync(StateProvider provider, bool entityFramework)
        {
            var directory = Directory.CreateTempSubdirectory("mss-writer-").FullName;
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(provider == StateProvider.Postgres ? EngineHarness.PostgresSettings(directory) : [])
                .Build();
            var services = new ServiceCollection().AddLogging()
                .AddStateStore(configuration, System.IO.Path.Combine(directory, "state.db"))
                .AddStateDbContextFactory<WorkflowDbContext, PostgresWorkflowDbContext>(configuration, null)
                .BuildServiceProvider();
            var store = new Store(services, entityFramework);
            await using var db = store.Context();
            await db.Database.MigrateAsync();
            return store;
        }

        public WorkflowDbContext Context() => _contexts.CreateDbContext();

        public WorkflowDbContext CreateDbContext() => Context();

        public DbConnection OpenConnection() => State switch
        {
            SqliteStateStore s => new SqliteConnection($"Data Source={s.Path};Pooling=False"),
            PostgresStateStore p => p.DataSource.CreateConnection(),
            _ => throw new InvalidOperationException(State.Description),
        };

        public async ValueTask DisposeAsync()
        {
            Writer.Dispose();
            await _services.DisposeAsync();
        }
    }

    /// <summary>Holds the first batch until released, and records every batch's size.</summary>
    private sealed class GatedWriter(IStateWriter inner) : IStateWriter
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> Batches { get; } = [];

        public async Task WriteAsync(IReadOnlyList<StateChange> changes)
        {
            Batches.Add(changes.Count);
            Entered.TrySetResult();
            await Release.Task;
            await inner.WriteAsync(changes);
        }

        public void Dispose() => inner.Dispose();
    }
}
