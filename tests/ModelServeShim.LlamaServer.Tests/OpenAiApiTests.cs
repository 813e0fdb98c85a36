using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace ModelServeShim.LlamaServer.Tests;

/// <summary>The OpenAI-compatible API of the real server process (see <see cref="RunningServerFixture"/>).</summary>
public sealed class OpenAiApiTests(RunningServerFixture server, ITestOutputHelper output) : IClassFixture<RunningServerFixture>
{
    private const string Prompt = "Hello world";

    /// <summary>
    /// The tiny sample often loads before the first poll, so the 503s may not be seen here;
    /// <see cref="InProcessServerTests"/> pins the loading answer down with the loader held back.
    /// </summary>
    [Fact]
    public void Health_PolledFromStart_Answers503LoadingUntil200Ok()
    {
        output.WriteLine(string.Join('\n', server.HealthHistory.Select(h => $"{(int)h.Status} {h.Body}")));
        var (lastStatus, lastBody) = server.HealthHistory[^1];
        Assert.Equal(HttpStatusCode.OK, lastStatus);
        Assert.Equal("""{"status":"ok"}""", lastBody);
        Assert.All(server.HealthHistory.SkipLast(1), h =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, h.Status);
            Assert.Equal("""{"status":"loading"}""", h.Body);
        });
    }

    [Fact]
    public async Task Models_ListsTheAlias()
    {
        using var response = await server.Client.GetAsync("/v1/models");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("list", body.GetProperty("object").GetString());
        var model = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal(RunningServerFixture.Alias, model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal("model-serve-shim", model.GetProperty("owned_by").GetString());
        Assert.True(model.GetProperty("created").GetInt64() > 1_600_000_000);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(40)]
    public async Task Completion_WithoutStop_GeneratesExactlyMaxTokensWithFinishReasonLength(int maxTokens)
    {
        var (status, body) = await server.PostAsync("/v1/completions", new { model = RunningServerFixture.Alias, prompt = Prompt, max_tokens = maxTokens, temperature = 0 });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(RunningServerFixture.Alias, body.GetProperty("model").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(maxTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() >= 2, "BOS plus the prompt's tokens");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + maxTokens, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Completion_WithoutMaxTokens_Generates16()
    {
        var (_, body) = await server.PostAsync("/v1/completions", new { prompt = Prompt, temperature = 0 });

        Assert.Equal(16, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Completion_AtTemperatureZero_IsDeterministic()
    {
        string first = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 0 });
        string second = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 0 });

        output.WriteLine(first);
        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Completion_SampledWithTheSameSeed_IsRepeatable()
    {
        string first = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 1.5, top_p = 0.95, seed = 1234 });
        string second = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 1.5, top_p = 0.95, seed = 1234 });

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Completion_WithStopSequence_EndsBeforeItAndExcludesIt()
    {
        string full = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 0 });
        string stop = PickStop(full);
        int cut = full.IndexOf(stop, StringComparison.Ordinal);
        output.WriteLine($"full: {full}\nstop: {stop} at {cut}");

        var (status, body) = await server.PostAsync("/v1/completions", new { prompt = Prompt, max_tokens = 24, temperature = 0, stop = new[] { "\u0001never", stop } });

        Assert.Equal(HttpStatusCode.OK, status);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(full[..cut], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.InRange(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 23);
    }

    [Fact]
    public async Task Completion_Streamed_YieldsChunksThenDoneWithTheSameTextAndUsage()
    {
        string full = await CompleteAsync(new { prompt = Prompt, max_tokens = 12, temperature = 0 });

        using var response = await server.Client.PostAsync("/v1/completions", RunningServerFixture.JsonBody(new { prompt = Prompt, max_tokens = 12, temperature = 0, stream = true }));
        var events = ParseEvents(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.True(chunks.Count >= 3, $"expected several chunks, got {chunks.Count}");
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Equal(full, string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(12, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Completion_StreamedWithStop_NeverSendsAnyPartOfTheStopSequence()
    {
        string full = await CompleteAsync(new { prompt = Prompt, max_tokens = 24, temperature = 0 });
        string stop = PickStop(full, length: 2);

        using var response = await server.Client.PostAsync("/v1/completions", RunningServerFixture.JsonBody(new { prompt = Prompt, max_tokens = 24, temperature = 0, stop, stream = true }));
        var chunks = ParseEvents(await response.Content.ReadAsStringAsync()).SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();

        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ChatCompletion_AnswersWithAnAssistantMessageAndUsage()
    {
        var (status, body) = await server.PostAsync("/v1/chat/completions", new
        {
            model = RunningServerFixture.Alias,
            messages = new object[]
            {
                new { role = "system", content = "You are terse." },
                new { role = "user", content = new[] { new { type = "text", text = "Say hi." } } },
            },
            max_tokens = 6,
            temperature = 0,
        });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.NotEmpty(choice.GetProperty("message").GetProperty("content").GetString()!);
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(6, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // The role-prefixed fallback template ("system: …\nuser: …\nassistant:") is longer than the two contents.
        Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > "You are terse.Say hi.".Length);
    }

    [Fact]
    public async Task ChatCompletion_Streamed_StartsWithTheRoleAndEndsWithDone()
    {
        using var response = await server.Client.PostAsync("/v1/chat/completions", RunningServerFixture.JsonBody(new
        {
            messages = new[] { new { role = "user", content = "hi" } },
            max_tokens = 5,
            temperature = 0,
            stream = true,
        }));
        var events = ParseEvents(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Contains(chunks, c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var content) && content.GetString()!.Length > 0);
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(5, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData("/v1/completions", """{"prompt":"hi","max_tokens":0}""", "max_tokens")]
    [InlineData("/v1/completions", """{"prompt":"hi","max_tokens":100000}""", "max_tokens")]
    [InlineData("/v1/completions", """{"prompt":"hi","max_tokens":"ten"}""", "max_tokens")]
    [InlineData("/v1/completions", """{"prompt":"hi","temperature":2.5}""", "temperature")]
    [InlineData("/v1/completions", """{"prompt":"hi","top_p":0}""", "top_p")]
    [InlineData("/v1/completions", """{"prompt":"hi","seed":-1}""", "seed")]
    [InlineData("/v1/completions", """{"prompt":"hi","n":2}""", "n")]
    [InlineData("/v1/completions", """{"prompt":"hi","stop":[""]}""", "stop")]
    [InlineData("/v1/completions", """{"prompt":"hi","stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("/v1/completions", """{"prompt":"hi","stop":7}""", "stop")]
    [InlineData("/v1/completions", """{"max_tokens":4}""", "prompt")]
    [InlineData("/v1/completions", """{"prompt":["a","b"]}""", "prompt")]
    [InlineData("/v1/chat/completions", """{"messages":[]}""", "messages")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"},{"role":"user","content":5}]}""", "messages[1].content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-3}""", "max_tokens")]
    public async Task InvalidRequest_Returns400InOpenAiShapeNamingTheParam(string path, string json, string param)
    {
        var (status, body) = await server.PostAsync(path, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task InvalidRequest_NotJson_Returns400WithNullParam()
    {
        var (status, body) = await server.PostAsync("/v1/completions", "{not json");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("error").GetProperty("param").ValueKind);
    }

    [Fact]
    public async Task Completion_PromptLongerThanTheContext_Returns400ForPrompt()
    {
        var (status, body) = await server.PostAsync("/v1/completions", new { prompt = string.Concat(Enumerable.Repeat("lorem ipsum ", 2000)) });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("prompt", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/completions", """{"model":"gpt-4","prompt":"hi"}""")]
    [InlineData("/v1/chat/completions", """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""")]
    public async Task UnknownModel_Returns404InOpenAiShape(string path, string json)
    {
        var (status, body) = await server.PostAsync(path, json);

        Assert.Equal(HttpStatusCode.NotFound, status);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("gpt-4", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentRequests_BeyondParallel_WaitAndAllComplete()
    {
        var requests = Enumerable.Range(0, 6).Select(_ => server.PostAsync("/v1/completions", new { prompt = Prompt, max_tokens = 20, temperature = 0 }));
        var results = await Task.WhenAll(requests);

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(results.Select(r => r.Body.GetProperty("choices")[0].GetProperty("text").GetString()).Distinct());
    }

    private async Task<string> CompleteAsync(object request)
    {
        var (status, body) = await server.PostAsync("/v1/completions", request);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    /// <summary>A piece of <paramref name="text"/> that first occurs after its start (random weights emit odd bytes: skip U+FFFD).</summary>
    private static string PickStop(string text, int length = 1)
    {
        for (int i = 1; i + length <= text.Length; i++)
        {
            string candidate = text.Substring(i, length);
            if (!candidate.Contains('\uFFFD', StringComparison.Ordinal) && text.IndexOf(candidate, StringComparison.Ordinal) > 0)
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"No usable stop sequence in '{text}'.");
    }

    private static List<string> ParseEvents(string body) =>
        [.. body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..])];
}
