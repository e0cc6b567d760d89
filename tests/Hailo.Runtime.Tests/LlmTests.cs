using Hailo.TestSupport;
using System.Diagnostics;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>
/// LLM binding on the fake (see native-shim/README.md "LLM"): the reply echoes the prompt one word-token per
/// read, which makes every streamed piece predictable.
/// </summary>
public sealed class LlmTests : IDisposable
{
    private readonly VDevice _vd;

    public LlmTests()
    {
        _ = FakeShim.Runtime;
        _vd = VDevice.Open();
    }

    public void Dispose() => _vd.Dispose();

    private LlmModel Load(string fixture) => LlmModel.Create(_vd, FakeShim.ShimFixture(fixture));

    private static string Words(int n) => string.Join(' ', Enumerable.Range(1, n).Select(i => "w" + i));

    [Fact]
    public void Metadata_DefaultsContextTemplate()
    {
        using var llm = Load("llm.json");
        Assert.Equal(new GenerationParameters
        {
            Temperature = 0.7f, TopP = 0.8f, TopK = 20, FrequencyPenalty = 1.1f, MaxGeneratedTokens = 32, DoSample = true, Seed = 42,
        }, llm.GetGenerationDefaults());
        Assert.Equal(new ContextUsage(64, 0), llm.GetContextUsage());
        Assert.Equal("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n",
            llm.GetPromptTemplate());
        Assert.False(llm.IsGenerating);
    }

    [Fact]
    public void Tokenize_ReturnsTheFakesFnvIds()
    {
        using var llm = Load("llm.json");
        static int Id(string token)
        {
            var h = 2166136261u;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(token)) h = (h ^ b) * 16777619u;
            return (int)(1 + h % (32000 - 1));
        }
        Assert.Equal([Id("Hello"), Id(" wörld"), Id(" !")], llm.Tokenize("Hello wörld !"));
        Assert.Empty(llm.Tokenize(""));
        var many = llm.Tokenize(Words(3000)); // more ids than the first buffer guess: exercises the retry
        Assert.Equal(3000, many.Length);
    }

    [Fact]
    public void StopTokens_RoundTripAsJson()
    {
        using var llm = Load("llm_end.json");
        Assert.Equal(["<|im_end|>"], llm.GetStopTokens());
        llm.SetStopTokens(["STOP", "quote\"and\\slash", "ünï"]);
        Assert.Equal(["STOP", "quote\"and\\slash", "ünï"], llm.GetStopTokens());
        llm.SetStopTokens([]);
        Assert.Empty(llm.GetStopTokens());
    }

    [Fact]
    public async Task RawPrompt_StreamsTheEchoPieceByPiece()
    {
        using var llm = Load("llm.json");
        await using var gen = llm.Generate("the quick brown fox");
        var pieces = new List<string>();
        await foreach (var p in gen) pieces.Add(p);
        Assert.Equal(["the", " quick", " brown", " fox"], pieces);
        var result = await gen.Completion;
        Assert.Equal(GenerationStatus.LogicalEnd, result.Status);
        Assert.Equal("the quick brown fox", result.Text);
        Assert.Equal(4, result.PieceCount);
        Assert.Equal(new ContextUsage(64, 8), result.Context); // 4 prompt tokens + 4 generated
        Assert.True(result.Elapsed > TimeSpan.Zero);
        Assert.False(llm.IsGenerating);
    }

    [Fact]
    public async Task ChatMessages_WithToolsOnAFreshContext()
    {
        using var llm = Load("llm_end.json");
        var messages = GenAiModel.MessagesJson(("system", "You are terse."), ("user", "say \"hi\" ünïcode"));
        var result = await llm.GenerateChat(messages, """[{"type":"function","function":{"name":"f","parameters":{}}}]""").ReadToEndAsync();
        Assert.Equal("say \"hi\" ünïcode<|im_end|>", result.Text);
        Assert.Equal(GenerationStatus.LogicalEnd, result.Status);

        // System messages (and tools) only on a fresh context, as HailoRT 5.2 documents.
        var e = Assert.Throws<HailoException>(() => llm.GenerateChat(messages));
        Assert.Equal(HailoStatus.InvalidOperation, e.Code);
        Assert.False(llm.IsGenerating); // a failed start releases the model
        llm.ClearContext();
        Assert.Equal(0, llm.GetContextUsage().UsedTokens);
        Assert.Equal("say \"hi\" ünïcode<|im_end|>", (await llm.GenerateChat(messages).ReadToEndAsync()).Text);
    }

    [Fact]
    public async Task MaxTokens_AndAFullContext_EndWithMaxTokensReached()
    {
        using var llm = Load("llm.json");
        var limited = await llm.Generate(Words(10), new GenerationParameters { MaxGeneratedTokens = 3 }).ReadToEndAsync();
        Assert.Equal(GenerationStatus.MaxTokensReached, limited.Status);
        Assert.Equal("w1 w2 w3", limited.Text);

        llm.ClearContext();
        var full = await llm.Generate(Words(40), new GenerationParameters { MaxGeneratedTokens = 100 }).ReadToEndAsync();
        Assert.Equal(GenerationStatus.MaxTokensReached, full.Status); // 40 prompt + 24 generated fill the 64-token context
        Assert.Equal(24, full.PieceCount);
        Assert.Equal(new ContextUsage(64, 64), full.Context);

        llm.ClearContext();
        var tooLong = Assert.Throws<HailoException>(() => llm.Generate(Words(65)));
        Assert.Equal(HailoStatus.InvalidArgument, tooLong.Code);
        Assert.Contains("does not fit the context", tooLong.Message);
    }

    [Fact]
    public async Task StopToken_EndsTheGeneration()
    {
        using var llm = Load("llm_end.json");
        llm.SetStopTokens(["three"]);
        var r = await llm.Generate("one two three four").ReadToEndAsync();
        Assert.Equal("one two three", r.Text);
        Assert.Equal(GenerationStatus.LogicalEnd, r.Status);
    }

    [Fact]
    public async Task Utf8SplitAcrossTokens_IsReassembled()
    {
        using var llm = Load("llm_utf8.json"); // hands every multi-byte token out one byte at a time
        const string prompt = "héllo wörld 日本語 ✓ 🙂";
        var pieces = new List<string>();
        await using var gen = llm.Generate(prompt);
        await foreach (var p in gen) pieces.Add(p);
        Assert.Equal(prompt, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
    }

    [Fact]
    public async Task OneGenerationAtATime_SecondCallThrowsInvalidOperation()
    {
        using var llm = Load("llm_slow.json"); // 60 s per token: the first generation stays alive
        var first = llm.Generate("a b c");
        Assert.True(llm.IsGenerating);
        var e = Assert.Throws<InvalidOperationException>(() => llm.Generate("x"));
        Assert.Contains("already generating", e.Message);
        Assert.Contains("One generation runs at a time per model", e.Message);
        Assert.Throws<InvalidOperationException>(() => llm.GenerateChat(GenAiModel.MessagesJson(("user", "x"))));
        Assert.Throws<InvalidOperationException>(() => llm.ClearContext());

        await first.DisposeAsync(); // aborts and waits until the native completion is freed
        Assert.False(llm.IsGenerating);
        Assert.Equal(GenerationStatus.Aborted, (await first.Completion).Status);
        await using var second = llm.Generate("y");
        Assert.True(llm.IsGenerating);
    }

    [Fact]
    public async Task Cancellation_AbortsFromAnotherThreadWhileTheReaderBlocks()
    {
        using var llm = Load("llm_slow.json");
        using var cts = new CancellationTokenSource();
        var gen = llm.Generate("never arrives", cancellationToken: cts.Token);
        var consumer = Task.Run(async () =>
        {
            await foreach (var _ in gen) { }
        });
        await Task.Delay(300); // the reader is now blocked inside hs_completion_read
        Assert.False(consumer.IsCompleted);
        var sw = Stopwatch.StartNew();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"abort took {sw.Elapsed}");
        var result = await gen.Completion;
        Assert.Equal(GenerationStatus.Aborted, result.Status);
        Assert.Equal("", result.Text);
        Assert.False(llm.IsGenerating);
    }

    [Fact]
    public async Task EnumeratorCancellation_AndExplicitAbort()
    {
        using var llm = Load("llm_slow.json");
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var gen = llm.Generate("x");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var _ in gen.WithCancellation(cts.Token)) { }
            });
            Assert.Equal(GenerationStatus.Aborted, (await gen.Completion).Status);
        }

        // Abort() without a token: the stream simply ends with status Aborted.
        var g2 = llm.Generate("y");
        var reading = g2.ReadToEndAsync();
        await Task.Delay(100);
        g2.Abort();
        Assert.Equal(GenerationStatus.Aborted, (await reading).Status);
        Assert.False(llm.IsGenerating);
    }

    [Fact]
    public async Task AlreadyCancelledToken_AbortsAtOnce()
    {
        using var llm = Load("llm_slow.json");
        var gen = llm.Generate("x", cancellationToken: new CancellationToken(canceled: true));
        Assert.Equal(GenerationStatus.Aborted, (await gen.Completion.WaitAsync(TimeSpan.FromSeconds(5))).Status);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in gen) { }
        });
    }

    [Fact]
    public async Task BreakingOutEarly_AbortsAndFreesTheCompletion()
    {
        using var llm = Load("llm_paced.json");
        var gen = llm.Generate(Words(500));
        var seen = 0;
        await foreach (var _ in gen)
            if (++seen == 3) break;
        Assert.False(llm.IsGenerating); // the enumerator's dispose waited for the native completion to be freed
        var r = await gen.Completion;
        Assert.Equal(GenerationStatus.Aborted, r.Status);
        Assert.InRange(r.PieceCount, 3, 499);
        Assert.Throws<InvalidOperationException>(() => gen.GetAsyncEnumerator()); // one enumeration only
    }

    [Fact]
    public async Task UnreadGeneration_RunsToTheEndOnItsOwn()
    {
        using var llm = Load("llm.json");
        var gen = llm.Generate("nobody reads this");
        var r = await gen.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("nobody reads this", r.Text);
        Assert.False(llm.IsGenerating);
        var pieces = new List<string>();
        await foreach (var p in gen) pieces.Add(p); // the pieces were buffered
        Assert.Equal(3, pieces.Count);
    }

    [Fact]
    public async Task DeviceLostMidStream_FailsWithADeviceFault_ThenRecovers()
    {
        using var llm = Load("llm_paced.json"); // 5 ms per token
        var gen = llm.Generate(Words(400));
        var seen = 0;
        var e = await Assert.ThrowsAsync<HailoException>(async () =>
        {
            try
            {
                await foreach (var _ in gen)
                    if (++seen == 2) FakeShim.SetFaults("device_lost");
            }
            finally
            {
                FakeShim.SetFaults(null);
            }
        });
        Assert.Equal(HailoStatus.CommunicationClosed, e.Code);
        Assert.True(e.IsDeviceFault);
        Assert.Contains("hs_completion_read", e.Message);
        Assert.InRange(seen, 2, 399);
        await Assert.ThrowsAsync<HailoException>(() => gen.Completion);
        Assert.False(llm.IsGenerating);

        // Recovery: the fault is cleared and the same model generates again.
        llm.ClearContext();
        Assert.Equal("after recovery", (await llm.Generate("after recovery").ReadToEndAsync()).Text);
    }

    [Fact]
    public async Task DeviceLost_AtStart_ThrowsImmediately()
    {
        using var llm = Load("llm.json");
        using (FakeShim.Faults("device_lost"))
            Assert.Equal(HailoStatus.CommunicationClosed, Assert.Throws<HailoException>(() => llm.Generate("x")).Code);
        Assert.False(llm.IsGenerating);
        Assert.Equal("x", (await llm.Generate("x").ReadToEndAsync()).Text);
    }

    [Fact]
    public async Task TimeoutMidStream_IsRetriedUntilTheDeviceAnswersAgain()
    {
        using var llm = Load("llm_paced.json");
        // Long enough (5 ms a token) that the device is still producing when the fault is set, even when this loop runs
        // late on a loaded machine (with 60 words the device had finished before the second piece was read here).
        var prompt = Words(200);
        var gen = llm.Generate(prompt);
        var pieces = new List<string>();
        try
        {
            await foreach (var p in gen)
            {
                pieces.Add(p);
                if (pieces.Count == 2)
                {
                    FakeShim.SetFaults("timeout"); // reads now time out (200 ms slices) and are retried
                    _ = Task.Delay(700).ContinueWith(_ => FakeShim.SetFaults(null), TaskScheduler.Default);
                }
            }
        }
        finally
        {
            FakeShim.SetFaults(null);
        }
        var r = await gen.Completion;
        Assert.Equal(prompt, r.Text);
        Assert.Equal(GenerationStatus.LogicalEnd, r.Status);
        Assert.True(r.Elapsed >= TimeSpan.FromMilliseconds(600), $"elapsed {r.Elapsed}");
    }

    [Fact]
    public async Task Watchdog_AbortsAGenerationThatStopsProducingText()
    {
        using var llm = Load("llm_slow.json");
        llm.PieceTimeout = TimeSpan.FromMilliseconds(300);
        var e = await Assert.ThrowsAsync<HailoException>(() => llm.Generate("stuck").ReadToEndAsync());
        Assert.Equal(HailoStatus.Timeout, e.Code);
        Assert.Contains("no text for 0.3 s", e.Message);
        Assert.False(llm.IsGenerating);
    }

    [Fact]
    public async Task DisposingTheModel_LetsARunningGenerationFinish()
    {
        var llm = Load("llm_paced.json");
        var gen = llm.Generate(Words(30));
        llm.Dispose();
        var r = await gen.ReadToEndAsync();
        Assert.Equal(Words(30), r.Text);
        Assert.Null(r.Context); // the model handle was gone when the reader asked for the context usage
        // The KV cache is released once the completion is freed: a new LLM can load.
        using var next = Load("llm.json");
    }

    [Fact]
    public void KvCacheInUse_TwoLlmsOrAnLlmAndAVlm()
    {
        using (var first = Load("llm.json"))
        {
            var e = Assert.Throws<HailoException>(() => Load("llm.json"));
            Assert.Equal(HailoStatus.InvalidOperation, e.Code);
            Assert.Contains("KV-Cache is already in use", e.Message);
            Assert.False(e.IsDeviceFault);
            Assert.Equal(HailoStatus.InvalidOperation, Assert.Throws<HailoException>(() => VlmModel.Create(_vd, FakeShim.ShimFixture("vlm.json"))).Code);
            using var s2t = SpeechToText.Create(_vd, FakeShim.ShimFixture("s2t.json")); // Speech2Text does not take the KV cache
            using var vision = VisionModel.Load(_vd, FakeShim.ShimFixture("tiny.hef"));
        }
        using (FakeShim.Faults("kv_cache_in_use"))
            Assert.Contains("injected fault 'kv_cache_in_use'", Assert.Throws<HailoException>(() => Load("llm.json")).Message);
        using var again = Load("llm.json");
    }
}
