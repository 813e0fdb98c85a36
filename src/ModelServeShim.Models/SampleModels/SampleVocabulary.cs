namespace ModelServeShim.Models.SampleModels;

/// <summary>
/// A SentencePiece-style (tokenizer.ggml.model = "llama") vocabulary: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte
/// tokens &lt;0x00&gt;..&lt;0xFF&gt; (so any UTF-8 text tokenizes by byte fallback), then ordinary pieces with
/// "▁" marking a leading space.
/// </summary>
public sealed class SampleVocabulary
{
    public const int UnknownId = 0;
    public const int BosId = 1;
    public const int EosId = 2;
    public const int FirstByteTokenId = 3;

    /// <summary>Specials + byte tokens + a handful of pieces.</summary>
    public const int MinimumSize = 300;

    // llama.cpp's llama_token_type / LLAMA_TOKEN_TYPE_* values.
    private const int Normal = 1;
    private const int Unknown = 2;
    private const int Control = 3;
    private const int ByteType = 6;

    private const string Space = "\u2581";

    private static readonly string[] CommonPieces =
    [
        "▁t", "he", "▁the", "in", "er", "an", "▁a", "on", "re", "▁s", "at", "en", "▁w", "▁o", "nd", "es", "▁c", "is", "or", "ed",
        "▁f", "it", "▁b", "ing", "▁p", "ou", "▁an", "ar", "▁m", "▁to", "▁and", "▁of", "▁in", "▁is", "ll", "lo", "el", "ld", "▁H", "▁He",
        "▁Hel", "▁Hell", "▁Hello", "▁wor", "▁worl", "▁world", "▁mo", "▁mod", "▁mode", "▁model", "▁I", "▁you", "▁it", "▁that", "▁for",
    ];

    private SampleVocabulary(string[] tokens, float[] scores, int[] tokenTypes)
    {
        Tokens = tokens;
        Scores = scores;
        TokenTypes = tokenTypes;
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<float> Scores { get; }

    /// <summary>llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte.</summary>
    public IReadOnlyList<int> TokenTypes { get; }

    public static SampleVocabulary Build(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, MinimumSize);
        var tokens = new List<string>(size) { "<unk>", "<s>", "</s>" };
        var types = new List<int>(size) { Unknown, Control, Control };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(ByteType);
        }

        var seen = new HashSet<string>(tokens, StringComparer.Ordinal);
        IEnumerable<string> Pieces()
        {
            yield return Space;
            foreach (char c in "etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLUCMFWYPVBGKJQXZ0123456789.,!?'\"-:;()")
            {
                yield return c.ToString();
            }

            foreach (string piece in CommonPieces)
            {
                yield return piece;
            }

            // Enough filler bigrams for any vocabulary size up to 65536.
            const string letters = "etaoinshrdlucmfwypvbgkjqxz";
            foreach (char a in letters)
            {
                foreach (char b in letters)
                {
                    yield return $"{Space}{a}{b}";
                    yield return $"{a}{b}";
                }
            }

            for (int i = 0; ; i++)
            {
                yield return $"{Space}tok{i}";
            }
        }

        foreach (string piece in Pieces())
        {
            if (tokens.Count == size)
            {
                break;
            }

            if (seen.Add(piece))
            {
                tokens.Add(piece);
                types.Add(Normal);
            }
        }

        // SentencePiece scores are log-probabilities: earlier (more common) pieces score higher, so merges prefer them.
        var scores = new float[size];
        for (int i = FirstByteTokenId + 256; i < size; i++)
        {
            scores[i] = -(i - (FirstByteTokenId + 256));
        }

        return new SampleVocabulary([.. tokens], scores, [.. types]);
    }
}
