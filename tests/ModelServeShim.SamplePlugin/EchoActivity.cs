using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.SamplePlugin;

/// <summary>Sets its <c>text</c> input as its <c>text</c> output.</summary>
[Activity("Sample.Echo", Category = "Sample", Description = "Echoes its text input as its text output.")]
[Output("text", "string", Description = "The input text.")]
public sealed class EchoActivity : Activity
{
    /// <summary>The text to echo.</summary>
    [Input(Description = "The text to echo.")]
    public string Text { get; set; } = "";

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetOutput("text", Text);
        return ValueTask.FromResult(ActivityResult.Done);
    }
}
