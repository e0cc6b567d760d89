using System.Text.Json;
using Hailo.Core;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.TestSupport;
using HailoVision;
using HailoVision.Engine;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// hailo-vision on the CPU with a generated model pair installed under the default CPU model's catalog file names: a
/// tiny random qwen2 text GGUF (ChatML template, embedding width 64) and a tiny random CLIP + LLaVA-MLP projector GGUF
/// whose output width is 64 and which makes (32 / 8)² = 16 tokens of every image. llama.cpp and libmtmd load and run
/// them for real, so what these tests prove is loading, the image plumbing (decoded RGB → libmtmd bitmap → projector →
/// the text model's context, and the token counts that follow), the template with its image markers, streaming and
/// stop handling. The weights are random: the answers are gibberish, and nothing here says anything about answer quality.
/// </summary>
public sealed class CpuFixture : IAsyncLifetime
{
    public static readonly MmprojWriter.Spec Projector = new(TextEmbd: 64);
    public static int ImageTokens => Projector.Patches;
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-vision-cpu-").FullName;
    public RunningService Service { get; private set; } = null!;
    public HttpClient Client => Service.Client;
    public (string Gguf, string Mmproj) Files { get; private set; }

    /// <summary>Writes the pair under <paramref name="model"/>'s catalog file names; a projector of another width when asked.</summary>
    public static (string Gguf, string Mmproj) WriteModel(string modelsDir, string model = VisionModels.DefaultCpuModel, int projectorWidth = 64)
    {
        var m = VisionModels.Find(model, Backend.Cpu)!;
        var dir = Path.Combine(modelsDir, m.Name);
        Directory.CreateDirectory(dir);
        var gguf = Path.Combine(dir, m.Files[0].Name);
        var mmproj = Path.Combine(dir, m.Files[1].Name);
        GgufWriter.Write(gguf, new GgufWriter.Spec("qwen2", Embd: 64, Layers: 2, Heads: 4, KvHeads: 2, Ff: 128, Seed: 2026));
        MmprojWriter.Write(mmproj, Projector with { TextEmbd = projectorWidth });
        return (gguf, mmproj);
    }

    public static VisionConfig Config(string modelsDir)
    {
        var c = new VisionConfig { Device = Backend.Cpu };
        c.Models.Dir = modelsDir;
        c.Models.SearchPaths = [];
        c.Server.MaxQueuedRequests = 4;
        c.Cpu.Threads = 2;
        c.Vision.NumCtx = 512;
        c.KvCache.Bus = "none";
        return c;
    }

    public async Task InitializeAsync()
    {
        Files = WriteModel(ModelsDir);
        Service = await RunningService.StartAsync(HailoVision.VisionService.Definition, Config(ModelsDir));
        await Service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string json)
    {
        var r = await Client.PostAsync(path, Json(json));
        var text = await r.Content.ReadAsStringAsync();
        return ((int)r.StatusCode, JsonDocument.Parse(text).RootElement);
    }
}

public sealed class CpuApiTests(CpuFixture f) : IClassFixture<CpuFixture>
{
    private const string Model = VisionModels.DefaultCpuModel;
    private static readonly string Red = B64(Png(255, 0, 0));
    private static readonly string Wide = B64(Png(10, 200, 30, w: 90, h: 20));

    private static List<JsonElement> Lines(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static string Chat(string content, int images, string extra = "", string image = "") =>
        $$$"""{"model":"{{{Model}}}","stream":false,"options":{"temperature":0,"num_predict":8{{{extra}}}},"messages":[{"role":"user","content":"{{{content}}}","images":[{{{string.Join(",", Enumerable.Repeat($"\"{(image.Length > 0 ? image : Red)}\"", images))}}}]}]}""";

    [Fact]
    public async Task Health_reports_the_cpu_model_loaded_and_show_says_vision()
    {
        var h = JsonDocument.Parse(await f.Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("cpu", h.GetProperty("backend").GetString());
        Assert.True(h.GetProperty("ready").GetBoolean(), h.ToString());
        var (status, show) = await f.PostAsync("/api/show", $$"""{"model":"{{Model}}"}""");
        Assert.Equal(200, status);
        Assert.Equal(new[] { "completion", "vision" }, show.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal("Q8_0", show.GetProperty("details").GetProperty("quantization_level").GetString());
        var ps = JsonDocument.Parse(await f.Client.GetStringAsync("/api/ps")).RootElement.GetProperty("models");
        Assert.Equal(Model, Assert.Single(ps.EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Each_image_adds_the_projectors_token_count_to_the_prompt()
    {
        var (s0, none) = await f.PostAsync("/api/chat", Chat("what is this", 0));
        var (s1, one) = await f.PostAsync("/api/chat", Chat("what is this", 1));
        var (s2, two) = await f.PostAsync("/api/chat", Chat("what is this", 2));
        var (s3, wide) = await f.PostAsync("/api/chat", Chat("what is this", 1, image: Wide));
        Assert.Equal([200, 200, 200, 200], new[] { s0, s1, s2, s3 });
        int P(JsonElement e) => e.GetProperty("prompt_eval_count").GetInt32();
        // Each image: its 16 tokens plus the newline after its marker (one byte-level token).
        Assert.Equal(CpuFixture.ImageTokens + 1, P(one) - P(none));
        Assert.Equal(CpuFixture.ImageTokens + 1, P(two) - P(one));
        // The LLaVA projector resizes every image to its own 32×32: a 90×20 image costs the same.
        Assert.Equal(P(one), P(wide));
        Assert.Equal(8, one.GetProperty("eval_count").GetInt32());
        Assert.Equal("length", one.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task The_image_reaches_the_model_its_pixels_change_the_greedy_answer()
    {
        var blue = B64(Png(0, 0, 255));
        var (_, red) = await f.PostAsync("/api/chat", Chat("describe", 1, ",\"num_predict\":16"));
        var (_, red2) = await f.PostAsync("/api/chat", Chat("describe", 1, ",\"num_predict\":16"));
        var (_, other) = await f.PostAsync("/api/chat", Chat("describe", 1, ",\"num_predict\":16", blue));
        string T(JsonElement e) => e.GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(T(red), T(red2)); // greedy and a fresh context each time: the same image, the same answer
        Assert.NotEqual(T(red), T(other)); // another image's embedding, another answer
    }

    [Fact]
    public async Task Streams_ndjson_and_sse_with_usage()
    {
        var (_, whole) = await f.PostAsync("/api/chat", Chat("hi", 1));
        var r = await f.Client.PostAsync("/api/chat", Json(Chat("hi", 1).Replace("\"stream\":false", "\"stream\":true")));
        var lines = Lines(await r.Content.ReadAsStringAsync());
        // Pieces as they come (a token that ends inside a UTF-8 character waits for the next), then the end; together
        // they are the greedy answer the non-streamed request gave.
        Assert.True(lines.Count >= 3, $"{lines.Count} lines");
        Assert.All(lines[..^1], l => Assert.False(l.GetProperty("done").GetBoolean()));
        Assert.Equal(whole.GetProperty("message").GetProperty("content").GetString(), string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString())));
        var done = lines[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        Assert.Equal(8, done.GetProperty("eval_count").GetInt32());
        Assert.True(done.GetProperty("prompt_eval_count").GetInt32() > CpuFixture.ImageTokens);

        var sse = await f.Client.PostAsync("/v1/chat/completions", Json($$$"""
            {"model":"{{{Model}}}","stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"temperature":0,
             "messages":[{"role":"user","content":[{"type":"text","text":"what"},{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Red}}}"}}]}]}
            """));
        var events = (await sse.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.Equal("data: [DONE]", events[^1]);
        var usage = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement.GetProperty("usage");
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > CpuFixture.ImageTokens);
    }

    [Fact]
    public async Task A_stop_string_ends_the_answer_before_it()
    {
        var (_, full) = await f.PostAsync("/api/chat", Chat("go", 1, ",\"num_predict\":24"));
        var text = full.GetProperty("message").GetProperty("content").GetString()!;
        Assert.True(text.Length >= 12, text);
        var stop = text.Substring(6, 3);
        var (status, cut) = await f.PostAsync("/api/chat", Chat("go", 1, $",\"num_predict\":24,\"stop\":[{JsonSerializer.Serialize(stop)}]"));
        Assert.Equal(200, status);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], cut.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", cut.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Generate_as_frigate_sends_it_and_too_many_image_tokens_get_400()
    {
        var (s, g) = await f.PostAsync("/api/generate", $$$"""{"model":"{{{Model}}}","prompt":"describe","images":["{{{Red}}}"],"stream":false,"options":{"num_predict":3}}""");
        Assert.Equal(200, s);
        Assert.Equal(3, g.GetProperty("eval_count").GetInt32());
        // 8 images × 17 tokens do not fit a context of 64.
        var (s2, e) = await f.PostAsync("/api/chat", Chat("x", 8, ",\"num_ctx\":64"));
        Assert.Equal(400, s2);
        Assert.Contains("context", e.GetProperty("error").GetString());
    }
}

/// <summary>The runner itself on the generated pair: the chat template with its image markers, and the counts.</summary>
public sealed class MtmdRunnerTests(CpuFixture f) : IClassFixture<CpuFixture>
{
    [Fact]
    public void Renders_chatml_with_one_marker_per_image_and_drops_typed_markers()
    {
        using var runner = MtmdRunner.Load(f.Files.Gguf, f.Files.Mmproj, 2, 256);
        Assert.Equal("<__media__>", runner.Marker);
        Assert.Equal(CpuFixture.ImageTokens, runner.CountImageTokens(32, 32));
        Assert.Equal(CpuFixture.ImageTokens, runner.CountImageTokens(100, 7));
        var img = new ChatImage(new byte[4 * 4 * 3], 4, 4, 4, 4);
        var prompt = runner.RenderChat([new ChatTurn("system", "be brief"), new ChatTurn("user", "a <__media__> b", Images: [img, img])])!;
        Assert.Equal("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\n<__media__>\n<__media__>\na  b<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public async Task Markers_and_images_must_match()
    {
        using var runner = MtmdRunner.Load(f.Files.Gguf, f.Files.Mmproj, 2, 256);
        var img = new ChatImage(new byte[4 * 4 * 3], 4, 4, 4, 4);
        var input = new GenerationInput("<__media__> x", new SamplingOptions { NumPredict = 1 }, 256, null, false, [new ChatTurn("user", "x", Images: [img, img])]);
        var e = await Assert.ThrowsAsync<GenAiException>(async () => { await foreach (var _ in runner.GenerateAsync(input, default)) { } });
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public void A_projector_of_another_width_is_refused_with_libmtmds_reason()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-vision-bad-").FullName;
        try
        {
            var (gguf, mmproj) = CpuFixture.WriteModel(dir, projectorWidth: 32);
            var e = Assert.Throws<GenAiException>(() => MtmdRunner.Load(gguf, mmproj, 2, 256));
            Assert.Equal(503, e.Status);
            Assert.Contains("projector", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>device: cpu without the model files: degraded, and /health says which command fetches them.</summary>
public sealed class CpuMissingModelTests
{
    [Fact]
    public async Task Health_names_the_pull_command()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-vision-none-").FullName;
        try
        {
            await using var s = await RunningService.StartAsync(HailoVision.VisionService.Definition, CpuFixture.Config(dir));
            await s.StartupCompleted;
            var h = await (await s.Client.GetAsync("/health")).Content.ReadAsStringAsync();
            Assert.Contains("smolvlm:256m", h);
            Assert.Contains("pull", h);
            var r = await s.Client.PostAsync("/api/chat", Json("""{"model":"smolvlm:256m","messages":[{"role":"user","content":"x"}]}"""));
            Assert.Equal(404, (int)r.StatusCode);
        }
        finally { Directory.Delete(dir, true); }
    }
}
