using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Models;
using Hailo.TestSupport;
using HailoOllama;
using HailoOllama.Api;
using HailoOllama.Engine;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// In-process checks of what once crashed the service or held a model for minutes: the prompt of a model without a
/// chat template, and context truncation of a chat with very many turns (counted in renders and tokenisations, not
/// timed). The Go-template and keep_alive cases are in Hailo.GenAI.Tests.
/// </summary>
public sealed class HardeningTests
{
    [Fact]
    public void A_model_without_a_template_gets_ollamas_plain_prompt_and_a_transcript()
    {
        Assert.Null(ChatTemplate.Recognise(null, "qwen2"));
        Assert.Null(ChatTemplate.Recognise("", "llama"));
        Assert.Equal("why?", NoTemplate.Prompt(null, "why?"));
        Assert.Equal("Be brief.\n\nwhy?", NoTemplate.Prompt("Be brief.", "why?"));
        var turns = new[] { new ChatTurn("system", "Be brief."), new ChatTurn("user", "hi "), new ChatTurn("assistant", "hello"), new ChatTurn("user", "why?") };
        Assert.Equal("System: Be brief.\nUser: hi\nAssistant: hello\nUser: why?\nAssistant:", NoTemplate.Transcript(turns));
    }

    // ---------------------------------------------------------------- context truncation

    /// <summary>Counts tokenisations and the characters tokenised; a token is 4 characters.</summary>
    private sealed class CountingRunner(Action<int>? onCount = null) : IModelRunner
    {
        public int Calls;
        public long Chars;
        public Hailo.Core.Backend Backend => Hailo.Core.Backend.Cpu;
        public int ContextSize => 512;
        public int TrainedContext => 2048;
        public bool CanEmbed => false;
        public long MemoryBytes => 0;

        public int CountTokens(string text, bool addSpecial)
        {
            Calls++;
            Chars += text.Length;
            onCount?.Invoke(Calls);
            return (text.Length + 3) / 4;
        }

        public string Detokenize(ReadOnlySpan<int> tokens) => throw new NotSupportedException();
        public int[] Tokenize(string text, bool addSpecial) => throw new NotSupportedException();
        public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, CancellationToken ct) => throw new NotSupportedException();
        public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct) => throw new NotSupportedException();
        public string? RenderChat(IReadOnlyList<ChatTurn> turns) => null;
        public void Dispose() { }
    }

    private sealed class Engine : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("hailo-ollama-trunc-").FullName;
        public CompletionEngine Completion { get; }
        public LocalModel Model { get; }

        public Engine()
        {
            var path = Path.Combine(_dir, "m.gguf");
            GgufWriter.Write(path, new GgufWriter.Spec("qwen2")); // ChatML: the template is rendered, the runner only counts
            var config = OllamaFixture.Config(_dir);
            config.Ollama.MaxMessages = 1_000_000;
            Model = new LocalModel { Name = "m:1", Backend = Hailo.Core.Backend.Cpu, Path = path };
            Completion = new CompletionEngine(null!, new RegistryTemplates(new ModelRegistry(new ModelStore(_dir, [], OllamaModels.Catalog), Hailo.Core.Backend.Cpu)), OllamaEngine.Limits(config));
        }

        public CompletionJob Chat(int turns) => new()
        {
            Model = Model, Options = new SamplingOptions { NumPredict = 16 },
            Turns = [new ChatTurn("system", "Be brief."), .. Enumerable.Range(0, turns).Select(i => new ChatTurn(i % 2 == 0 ? "user" : "assistant", $"message {i}"))],
        };

        public void Dispose() => Directory.Delete(_dir, true);
    }

    [Fact]
    public void Truncating_a_chat_of_100k_turns_tokenises_logarithmically_often_and_keeps_what_fits()
    {
        using var e = new Engine();
        var runner = new CountingRunner();
        var job = e.Chat(100_000);
        var input = e.Completion.BuildInput(job, runner, 512, CancellationToken.None);
        // The whole chat once, then O(log n) prompts of about what fits: the old loop tokenised the whole prompt
        // once per dropped turn (100,000 times, about 10^11 characters).
        Assert.InRange(runner.Calls, 2, 2 + 2 * 17);
        var whole = ChatTemplate.ChatMl().Render(job.Turns!).Length;
        Assert.InRange(runner.Chars, whole, whole + 40L * 2 * 512 * 4);
        // What is kept: the system prompt, then the newest turns; one more turn would not fit.
        var kept = input.Turns!;
        Assert.Equal("system", kept[0].Role);
        Assert.Equal("message 99999", kept[^1].Content);
        Assert.Equal($"message {100_000 - (kept.Count - 1)}", kept[1].Content);
        var budget = 512 - 16;
        Assert.True((input.Prompt.Length + 3) / 4 <= budget);
        var oneMore = ChatTemplate.ChatMl().Render([kept[0], job.Turns![100_001 - kept.Count], .. kept.Skip(1)]);
        Assert.True((oneMore.Length + 3) / 4 > budget);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 40)]
    [InlineData(2, 12)]
    [InlineData(7, 3)]
    [InlineData(50, 8)]
    [InlineData(333, 20)]
    public void Truncation_keeps_the_same_turns_as_dropping_one_at_a_time(int turns, int budget)
    {
        // Reference: the old loop (drop the oldest turn after the system prompt until it fits or one is left).
        var chat = new List<ChatTurn> { new("system", "S") };
        for (var i = 0; i < turns; i++) chat.Add(new ChatTurn("user", new string('x', 1 + i * 7 % 13)));
        static string Render(IReadOnlyList<ChatTurn> t) => string.Concat(t.Select(x => x.Role + ":" + x.Content + "\n"));
        var expected = chat.ToList();
        while (Render(expected).Length > budget && expected.Count - 1 > 1) expected.RemoveAt(1);
        // Called, as BuildInput does, only when the whole chat does not fit.
        var (kept, prompt) = Render(chat).Length <= budget ? (chat, Render(chat))
            : CompletionEngine.DropOldestTurns(chat, Render, s => s.Length, budget, CancellationToken.None);
        Assert.Equal(expected, kept);
        Assert.Equal(Render(expected), prompt);
    }

    [Fact]
    public void Truncation_stops_when_the_request_is_cancelled()
    {
        using var e = new Engine();
        using var cts = new CancellationTokenSource();
        var runner = new CountingRunner(calls => { if (calls == 2) cts.Cancel(); });
        Assert.Throws<OperationCanceledException>(() => e.Completion.BuildInput(e.Chat(20_000), runner, 512, cts.Token));
        Assert.Equal(2, runner.Calls); // nothing more after the cancellation
    }
}
