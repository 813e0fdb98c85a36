namespace ModelServeShim.ControlPlane;

/// <summary>
/// One row of the cluster's event feed (table <c>server_events</c>, used on PostgreSQL): a server-wide event of any
/// replica, numbered by the table's identity column in the order it was committed (<see cref="PostgresEventLog"/>).
/// Rows are kept for a bounded time and count (<see cref="EventFeedOptions"/>).
/// </summary>
public sealed class ServerEventRecord
{
    /// <summary>The cluster-wide sequence number (the SSE <c>id</c>).</summary>
    public long Id { get; set; }

    /// <summary>The event name (<c>service</c>, <c>instance</c>, <c>step</c>, <c>definition</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>The event's JSON data.</summary>
    public string Data { get; set; } = "";

    /// <summary>The replica that published it (host name and process id), for diagnosis.</summary>
    public string Replica { get; set; } = "";

    /// <summary>When it was stored (retention is counted from here).</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
