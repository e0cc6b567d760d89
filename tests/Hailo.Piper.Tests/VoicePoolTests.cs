using System.Net;
using System.Text.Json;
using Hailo.TestSupport;
using HailoPiper;
using HailoPiper.Voices;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>
/// Several voices at once: loaded on first use up to piper.max_loaded_voices (then the least recently used idle one
/// is unloaded), one synthesis per voice at a time with a bounded queue (503 + Retry-After beyond it), different
/// voices in parallel.
/// </summary>
public sealed class VoicePoolTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-piper-pool-").FullName;
    private readonly FakeVoiceLoader _loader = new();
    private RunningService? _service;

    public Task InitializeAsync()
    {
        TestVoices.WritePiperVoice(_models, "aa_AA-one-medium", 22050, "aa_AA");
        TestVoices.WritePiperVoice(_models, "bb_BB-two-medium", 22050, "bb_BB");
        TestVoices.WritePiperVoice(_models, "cc_CC-three-low", 16000, "cc_CC");
        return Task.CompletedTask;
    }

    private async Task<HttpClient> Start(int maxLoaded, int maxQueued, bool preload = false, int budgetMb = 0)
    {
        var config = PiperFixture.Config(_models);
        config.Piper.MaxLoadedVoices = maxLoaded;
        config.Piper.MemoryBudgetMb = budgetMb;
        config.Piper.MaxQueuedPerVoice = maxQueued;
        config.Models.Preload = preload;
        _service = await RunningService.StartAsync(PiperService.Definition, config, b => b.Services.AddSingleton<IVoiceLoader>(_loader));
        await _service.StartupCompleted;
        return _service.Client;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static Task<HttpResponseMessage> Speak(HttpClient c, string voice, string text = "Hello.") =>
        c.Speech($$"""{"input":"{{text}}","voice":"{{voice}}","response_format":"pcm"}""");

    private async Task<Dictionary<string, string>> States() =>
        JsonDocument.Parse(await _service!.Client.GetStringAsync("/health")).RootElement.GetProperty("models").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("state").GetString()!);

    [Fact]
    public async Task Beyond_the_limit_the_least_recently_used_voice_is_unloaded()
    {
        var c = await Start(maxLoaded: 2, maxQueued: 4);
        Assert.Empty(_loader.Loads); // preload off: nothing loaded yet
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "aa_AA-one-medium")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "bb_BB-two-medium")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "aa_AA-one-medium")).StatusCode); // a is now more recent than b
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "cc_CC-three-low")).StatusCode);
        Assert.Equal(["aa_AA-one-medium", "bb_BB-two-medium", "cc_CC-three-low"], _loader.Loads);
        Assert.True(_loader.Voices["bb_BB-two-medium"].Disposed);
        Assert.False(_loader.Voices["aa_AA-one-medium"].Disposed);
        var pool = _service!.App.Services.GetRequiredService<VoicePool>();
        Assert.Equal(["aa_AA-one-medium", "cc_CC-three-low"], pool.LoadedNames.Order());
        var states = await States();
        Assert.Equal("idle", states["bb_BB-two-medium"]);
        Assert.Equal("ready", states["cc_CC-three-low"]);
        // b comes back on its next use, unloading a (now the least recent).
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "bb_BB-two-medium")).StatusCode);
        Assert.True(_loader.Voices["aa_AA-one-medium"].Disposed);
        var voices = JsonDocument.Parse(await c.GetStringAsync("/v1/voices")).RootElement.GetProperty("voices").EnumerateArray()
            .ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("loaded").GetBoolean());
        Assert.False(voices["aa_AA-one-medium"]);
        Assert.True(voices["bb_BB-two-medium"]);
    }

    [Fact]
    public async Task One_synthesis_per_voice_a_full_queue_is_503_and_other_voices_run_meanwhile()
    {
        var c = await Start(maxLoaded: 3, maxQueued: 1);
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loader.HoldSecondSentence = hold;
        try
        {
            var first = Speak(c, "aa_AA-one-medium", "One. Two.");
            await WaitFor(() => _loader.RunningPerVoice.GetValueOrDefault("aa_AA-one-medium") == 1);
            var queued = Speak(c, "aa_AA-one-medium", "Three. Four.");
            var pool = _service!.App.Services.GetRequiredService<VoicePool>();
            await WaitFor(() => pool.Waiting("aa_AA-one-medium") == 1);
            var refused = await Speak(c, "aa_AA-one-medium");
            await Http.AssertOpenAiError(refused, HttpStatusCode.ServiceUnavailable, "queue_full");
            Assert.True(refused.Headers.RetryAfter is not null);
            // Another voice is not behind that queue: its one-sentence text finishes while a is held.
            var other = await Speak(c, "bb_BB-two-medium", "Elsewhere.");
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            Assert.False(first.IsCompleted);
            hold.SetResult();
            Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
            Assert.Equal(1, _loader.MaxPerVoice["aa_AA-one-medium"]);
            Assert.True(_loader.MaxRunning >= 2); // a (held) and b ran at the same time
        }
        finally
        {
            _loader.HoldSecondSentence = null;
            hold.TrySetResult();
        }
    }

    [Fact]
    public async Task Many_requests_on_one_voice_never_overlap()
    {
        var c = await Start(maxLoaded: 3, maxQueued: 20);
        _loader.Delay = TimeSpan.FromMilliseconds(20);
        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Speak(c, "aa_AA-one-medium", $"Request {i}. Again.")));
        Assert.All(all, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, _loader.MaxPerVoice["aa_AA-one-medium"]);
    }

    [Fact]
    public async Task A_voice_that_fails_to_load_is_503_and_the_service_stays_up()
    {
        _loader.Fail = v => v.Name == "cc_CC-three-low" ? new InvalidOperationException("broken model") : null;
        var c = await Start(maxLoaded: 3, maxQueued: 2);
        var message = await Http.AssertOpenAiError(await Speak(c, "cc_CC-three-low"), HttpStatusCode.ServiceUnavailable, "model_failed");
        Assert.Contains("broken model", message);
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "aa_AA-one-medium")).StatusCode);
        // One broken voice does not make the service unready; /health keeps the reason.
        var health = await c.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var model = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == "cc_CC-three-low");
        Assert.Equal("idle", model.GetProperty("state").GetString());
        Assert.Contains("broken model", model.GetProperty("detail").GetString());
        // It is tried again on its next request.
        _loader.Fail = null;
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "cc_CC-three-low")).StatusCode);
    }

    [Fact]
    public async Task The_default_voice_is_preloaded_and_a_missing_default_piper_voice_says_how_to_pull_it()
    {
        await Start(maxLoaded: 2, maxQueued: 2, preload: true);
        Assert.Equal(["espeak:en-us"], _loader.Loads);
        await _service!.DisposeAsync();
        _service = null;

        var config = PiperFixture.Config(_models);
        config.Piper.DefaultVoice = "en_US-amy-low";
        await using var s = await RunningService.StartAsync(PiperService.Definition, config, b => b.Services.AddSingleton<IVoiceLoader>(_loader));
        await s.StartupCompleted;
        var r = await s.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("pull en_US-amy-low", body.GetProperty("fix").GetString());
        // Other voices still speak.
        Assert.Equal(HttpStatusCode.OK, (await Speak(s.Client, "aa_AA-one-medium")).StatusCode);
    }

    /// <summary>Gives a test voice's .onnx that many MiB (sparse: the fake loader never reads it; the estimate reads its size).</summary>
    private void Size(string voice, int mib)
    {
        using var f = File.OpenWrite(Path.Combine(_models, voice, voice + ".onnx"));
        f.SetLength(mib * 1024L * 1024);
    }

    [Fact]
    public void A_voices_memory_is_estimated_from_its_model_file()
    {
        Size("aa_AA-one-medium", 60);
        var config = PiperFixture.Config(_models);
        var catalog = new VoiceCatalog(config, new Hailo.Hosting.Models.ModelStore(_models, [], PiperModels.Catalog));
        Assert.Equal((2 * 60 + 16) * 1024L * 1024, VoicePool.EstimatedBytes(catalog.Find("aa_AA-one-medium")!));
        Assert.Equal(VoicePool.BuiltInBytes, VoicePool.EstimatedBytes(catalog.Find("espeak:en-us")!));
        Assert.Equal(VoicePool.BuiltInBytes, VoicePool.EstimatedBytes(catalog.Find("flite:slt")!));
        Assert.True(VoicePool.BuiltInBytes <= 1 << 20);
    }

    [Fact]
    public async Task Beyond_the_memory_budget_the_least_recently_used_idle_voice_is_unloaded()
    {
        // a and b: 2 × 20 + 16 = 56 MiB each; c: 2 × 40 + 16 = 96 MiB. 160 MiB hold a and b, or b and c, not all three.
        Size("aa_AA-one-medium", 20);
        Size("bb_BB-two-medium", 20);
        Size("cc_CC-three-low", 40);
        var c = await Start(maxLoaded: 8, maxQueued: 4, budgetMb: 160);
        var pool = _service!.App.Services.GetRequiredService<VoicePool>();
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "aa_AA-one-medium")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "bb_BB-two-medium")).StatusCode);
        Assert.Equal(112L << 20, pool.LoadedBytes);
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "cc_CC-three-low")).StatusCode);
        Assert.True(_loader.Voices["aa_AA-one-medium"].Disposed);
        Assert.False(_loader.Voices["bb_BB-two-medium"].Disposed);
        Assert.Equal(["bb_BB-two-medium", "cc_CC-three-low"], pool.LoadedNames.Order());
        Assert.Equal(152L << 20, pool.LoadedBytes);
        // A built-in voice costs next to nothing: it joins without unloading anyone.
        Assert.Equal(HttpStatusCode.OK, (await Speak(c, "espeak:en-us")).StatusCode);
        Assert.Equal(["bb_BB-two-medium", "cc_CC-three-low", "espeak:en-us"], pool.LoadedNames.Order());
        Assert.Equal("idle", (await States())["aa_AA-one-medium"]);
    }

    [Fact]
    public async Task A_voice_in_use_is_never_unloaded_for_the_budget()
    {
        // a and b: 56 MiB each; c: 2 × 50 + 16 = 116 MiB, within the 160 MiB budget alone, not next to a.
        Size("aa_AA-one-medium", 20);
        Size("bb_BB-two-medium", 20);
        Size("cc_CC-three-low", 50);
        var c = await Start(maxLoaded: 8, maxQueued: 4, budgetMb: 160);
        var pool = _service!.App.Services.GetRequiredService<VoicePool>();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loader.HoldSecondSentence = hold;
        try
        {
            // a is loaded first (the least recently used) and stays busy in the middle of its text.
            var busy = Speak(c, "aa_AA-one-medium", "One. Two.");
            await WaitFor(() => _loader.RunningPerVoice.GetValueOrDefault("aa_AA-one-medium") == 1);
            Assert.Equal(HttpStatusCode.OK, (await Speak(c, "bb_BB-two-medium", "Elsewhere.")).StatusCode);
            // c does not fit: b, idle, goes; a, in use though least recently used, stays, and c still speaks: the pool
            // runs over its budget (56 + 116 MiB) while c is in use rather than unload a or refuse c. Once c is done it
            // is the only idle voice, and it goes.
            Assert.Equal(HttpStatusCode.OK, (await Speak(c, "cc_CC-three-low", "Further.")).StatusCode);
            Assert.Equal(["aa_AA-one-medium", "bb_BB-two-medium", "cc_CC-three-low"], _loader.Loads);
            Assert.True(_loader.Voices["bb_BB-two-medium"].Disposed);
            await WaitFor(() => _loader.Voices["cc_CC-three-low"].Disposed);
            Assert.False(_loader.Voices["aa_AA-one-medium"].Disposed);
            Assert.Equal(["aa_AA-one-medium"], pool.LoadedNames);
            Assert.Equal(56L << 20, pool.LoadedBytes);
            Assert.False(busy.IsCompleted);
            hold.SetResult();
            Assert.Equal(HttpStatusCode.OK, (await busy).StatusCode);
            Assert.False(_loader.Voices["aa_AA-one-medium"].Disposed);
        }
        finally
        {
            _loader.HoldSecondSentence = null;
            hold.TrySetResult();
        }
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("condition not met");
            await Task.Delay(10);
        }
    }
}
