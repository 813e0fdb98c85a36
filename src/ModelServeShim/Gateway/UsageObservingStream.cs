using Microsoft.AspNetCore.Http.Features;

namespace ModelServeShim.Gateway;

/// <summary>
/// Sits in front of the client's response body while the forwarder copies the runtime's answer into it: every write
/// and flush goes straight through (streams stay unbuffered), and the bytes are looked at on the way for the
/// <c>usage</c> of a successful JSON or server-sent-events answer and the time of the first event. Nothing is kept
/// but the token counts.
/// </summary>
internal sealed class UsageObservingStream(Stream inner, HttpResponse response, TimeProvider time) : Stream
{
    private bool _started;
    private JsonUsageScanner? _json;
    private SseUsageScanner? _sse;

    /// <summary>The timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the first server-sent event, if one passed.</summary>
    public long? FirstEventAt { get; private set; }

    /// <summary>True when the answer was a server-sent event stream.</summary>
    public bool IsStream => _sse is not null;

    /// <summary>The usage the runtime reported, if it did.</summary>
    public TokenUsage? Usage => _json?.Usage ?? _sse?.Usage;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Observe(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Observe(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Observe(ReadOnlySpan<byte> data)
    {
        if (!_started)
        {
            // The forwarder has copied the status and headers by the first write.
            _started = true;
            if (response.StatusCode == StatusCodes.Status200OK && response.ContentType is { } contentType)
            {
                if (contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
                {
                    _sse = new SseUsageScanner();
                }
                else if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
                {
                    _json = new JsonUsageScanner();
                }
            }
        }

        _json?.Append(data);
        if (_sse is not null && _sse.Append(data))
        {
            FirstEventAt = time.GetTimestamp();
        }
    }

    /// <summary>Puts the observer in front of the response body for the duration of one forward.</summary>
    public static UsageObservingStream Attach(HttpContext context, TimeProvider time)
    {
        var original = context.Features.Get<IHttpResponseBodyFeature>()!;
        var observer = new UsageObservingStream(original.Stream, context.Response, time);
        context.Features.Set<IHttpResponseBodyFeature>(new ObservedBodyFeature(original, observer));
        return observer;
    }

    /// <summary>The response body feature with its stream replaced by the observer (everything else delegated).</summary>
    private sealed class ObservedBodyFeature(IHttpResponseBodyFeature inner, Stream stream) : IHttpResponseBodyFeature
    {
        private System.IO.Pipelines.PipeWriter? _writer;

        public Stream Stream => stream;

        public System.IO.Pipelines.PipeWriter Writer => _writer ??= System.IO.Pipelines.PipeWriter.Create(stream, new System.IO.Pipelines.StreamPipeWriterOptions(leaveOpen: true));

        public void DisableBuffering() => inner.DisableBuffering();

        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            inner.SendFileAsync(path, offset, count, cancellationToken);

        public async Task CompleteAsync()
        {
            if (_writer is not null)
            {
                await _writer.CompleteAsync();
            }

            await inner.CompleteAsync();
        }
    }
}
