using HailoOllama.Engine;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// A prompt far longer than the context is cut by characters before it is tokenised (only its last tokens reach the
/// model once it is truncated): the cut keeps exactly the tokens the whole prompt's truncation keeps.
/// </summary>
public sealed class PromptTailTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-ollama-tail-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_prompt_far_longer_than_the_context_is_cut_and_keeps_the_tokens_truncation_keeps()
    {
        using var runner = LlamaRunner.Load(OllamaFixture.WriteDefaultModel(_dir), threads: 1, numCtx: 128);
        const int ctx = 128;
        var prompt = string.Concat(Enumerable.Range(0, 40_000).Select(i => $"w{i % 97} {(char)('a' + i % 26)}{i % 7}. "));
        var tail = runner.Tail(prompt, ctx);
        Assert.True(tail.Length < prompt.Length / 4, $"the prompt of {prompt.Length} characters was cut to {tail.Length}");
        Assert.EndsWith(tail, prompt);
        var whole = runner.Tokenize(prompt, false);
        var cut = runner.Tokenize(tail, false);
        Assert.True(cut.Length >= ctx, $"the cut holds {cut.Length} tokens, fewer than the context's {ctx}");
        Assert.Equal(whole[^ctx..], cut[^ctx..]);
    }

    [Fact]
    public void A_prompt_the_context_can_hold_is_not_cut()
    {
        using var runner = LlamaRunner.Load(OllamaFixture.WriteDefaultModel(_dir), threads: 1, numCtx: 128);
        var prompt = string.Concat(Enumerable.Repeat("hello there ", 40));
        Assert.Same(prompt, runner.Tail(prompt, 128));
    }

    [Fact]
    public void A_text_beyond_any_context_is_counted_in_pieces_close_to_its_whole_count()
    {
        using var runner = LlamaRunner.Load(OllamaFixture.WriteDefaultModel(_dir), threads: 1, numCtx: 128);
        var text = string.Concat(Enumerable.Range(0, 60_000).Select(i => $"w{i % 97} x{i % 13}. "));
        Assert.True(text.Length > LlamaRunner.ExactCountChars);
        var whole = runner.Tokenize(text, true).Length;
        var counted = runner.CountTokens(text, true);
        // Each split may cut one token in two: at most one extra per 16 K characters.
        Assert.InRange(counted, whole, whole + text.Length / (1 << 14) + 1);
        var small = string.Concat(Enumerable.Repeat("hello there ", 100));
        Assert.Equal(runner.Tokenize(small, true).Length, runner.CountTokens(small, true));
    }
}
