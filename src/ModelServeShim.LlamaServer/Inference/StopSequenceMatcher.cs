using System.Text;

namespace ModelServeShim.LlamaServer.Inference;

/// <summary>
/// Cuts generated text at the first stop sequence. Text that could still become the start of a stop sequence
/// is held back until the next piece settles it, so a streamed client never sees part of a stop sequence.
/// </summary>
internal sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private readonly StringBuilder _pending = new();

    /// <summary>True once a stop sequence was seen; nothing after it is returned.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds generated text and returns what can be emitted now.</summary>
    public string Push(string text)
    {
        if (Stopped)
        {
            return "";
        }

        _pending.Append(text);
        string pending = _pending.ToString();
        int first = -1;
        foreach (string stop in stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return pending[..first];
        }

        int emit = pending.Length - LongestSuffixThatStartsAStop(pending);
        _pending.Remove(0, emit);
        return pending[..emit];
    }

    /// <summary>The held-back text, when generation ends for another reason.</summary>
    public string Flush()
    {
        string rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        int longest = 0;
        foreach (string stop in stops)
        {
            for (int length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }
}
