using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.Audio;
using Hailo.TestSupport;
using HailoWhisper;
using HailoWhisper.Pipeline;
using OpenAI;
using OpenAI.Audio;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>The service on the CPU backend with a random-weight tiny model written by the ggml writer.</summary>
public sealed class CpuServiceFixture : IAsyncLifetime
{
    public string Models { get; } = Directory.CreateTempSubdirectory("hailo-whisper-api-").FullName;
    public string ModelPath { get; private set; } = "";
    public RunningService Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ModelPath = WhisperTestModels.WriteTiny(Models);
        var config = new WhisperConfig { Device = "cpu" };
        config.Models.Dir = Models;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        Service = await RunningService.StartAsync(WhisperService.Definition, config);
        await Service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(Models, true);
    }
}

/// <summary>
/// The OpenAI audio API on the CPU backend, end to end. The model's weights are random, so the text is arbitrary:
/// these tests check that the API returns exactly what Whisper.net makes of the same decoded audio, in every format,
/// and that bad input is a 4xx in OpenAI's error shape.
/// </summary>
public sealed class ApiTests(CpuServiceFixture f) : IClassFixture<CpuServiceFixture>
{
    private HttpClient Client => f.Service.Client;

    internal static MultipartFormDataContent Form(byte[] audio, string fileName = "speech.wav", params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(audio);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", fileName);
        foreach (var (n, v) in fields) form.Add(new StringContent(v), n);
        return form;
    }

    private static byte[] Speech => File.ReadAllBytes(AudioFiles.LibriVox());

    /// <summary>What Whisper.net itself makes of the same audio with the same model and settings.</summary>
    private Transcript Direct(byte[] audio, TranscribeOptions options)
    {
        using var model = new CpuWhisperModel(f.ModelPath, 1);
        return Transcriber.Run(model, AudioDecoder.Decode(audio, 3600).Samples, options, 30, CancellationToken.None);
    }

    [Fact]
    public async Task Json_text_equals_whisper_net_on_the_same_audio_and_usage_is_the_duration()
    {
        var r = await Client.PostAsync("/v1/audio/transcriptions", Form(Speech, fields: [("model", "whisper-1"), ("language", "en")]));
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var json = JsonDocument.Parse(body).RootElement;
        var expected = Direct(Speech, new TranscribeOptions { Language = "en" });
        Assert.False(string.IsNullOrWhiteSpace(expected.Text));
        Assert.Equal(expected.Text, json.GetProperty("text").GetString());
        Assert.Equal("duration", json.GetProperty("usage").GetProperty("type").GetString());
        Assert.Equal((int)Math.Ceiling(expected.Duration), json.GetProperty("usage").GetProperty("seconds").GetInt32());
        Assert.Equal("cpu", r.Headers.GetValues("X-Backend").Single());
    }

    [Fact]
    public async Task Srt_vtt_text_and_verbose_json_are_the_same_segments()
    {
        var expected = Direct(Speech, new TranscribeOptions { Language = "en" });
        async Task<string> Get(string format)
        {
            var r = await Client.PostAsync("/v1/audio/transcriptions", Form(Speech, fields: [("language", "en"), ("response_format", format)]));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return await r.Content.ReadAsStringAsync();
        }
        var srt = await Get("srt");
        var vtt = await Get("vtt");
        Assert.Equal(HailoWhisper.Api.Formats.Srt(expected), srt);
        Assert.Equal(HailoWhisper.Api.Formats.Vtt(expected), vtt);
        Assert.StartsWith("WEBVTT\n\n", vtt);
        Assert.Equal(expected.Text + "\n", await Get("text"));
        var verbose = JsonDocument.Parse(await Get("verbose_json")).RootElement;
        Assert.Equal("transcribe", verbose.GetProperty("task").GetString());
        Assert.Equal("english", verbose.GetProperty("language").GetString());
        Assert.Equal(expected.Duration, verbose.GetProperty("duration").GetDouble(), 3);
        var segments = verbose.GetProperty("segments").EnumerateArray().ToArray();
        Assert.Equal(expected.Segments.Count, segments.Length);
        for (var i = 0; i < segments.Length; i++)
        {
            Assert.Equal(i, segments[i].GetProperty("id").GetInt32());
            Assert.Equal(expected.Segments[i].Start, segments[i].GetProperty("start").GetDouble());
            Assert.Equal(expected.Segments[i].End, segments[i].GetProperty("end").GetDouble());
            Assert.Equal(expected.Segments[i].Text, segments[i].GetProperty("text").GetString());
            Assert.Equal(expected.Segments[i].Tokens, segments[i].GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
            // whisper.cpp's no-speech probability (Whisper.net's SegmentData.NoSpeechProbability), not a constant 0.
            Assert.NotNull(expected.Segments[i].NoSpeechProb);
            Assert.Equal(expected.Segments[i].NoSpeechProb!.Value, segments[i].GetProperty("no_speech_prob").GetDouble());
            Assert.InRange(segments[i].GetProperty("no_speech_prob").GetDouble(), 0, 1);
        }
        Assert.Contains(segments, s => s.GetProperty("no_speech_prob").GetDouble() > 0);
        Assert.Equal(srt.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length, segments.Count(s => s.GetProperty("text").GetString()!.Trim().Length > 0));
    }

    [Fact]
    public async Task Word_timestamps_lie_inside_their_segments_in_order()
    {
        var r = await Client.PostAsync("/v1/audio/transcriptions", Form(Speech, fields:
            [("language", "en"), ("response_format", "verbose_json"), ("timestamp_granularities[]", "word"), ("timestamp_granularities[]", "segment")]));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var v = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        var words = v.GetProperty("words").EnumerateArray().ToArray();
        Assert.NotEmpty(words);
        var last = 0.0;
        foreach (var w in words)
        {
            var s = w.GetProperty("start").GetDouble();
            Assert.True(s >= last - 1e-9, "words are in order");
            Assert.InRange(w.GetProperty("end").GetDouble(), s, v.GetProperty("duration").GetDouble());
            last = s;
        }
        var text = string.Join(" ", words.Select(w => w.GetProperty("word").GetString()));
        Assert.Equal(string.Join(" ", v.GetProperty("text").GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries)), text);
    }

    [Fact]
    public async Task The_openai_dotnet_sdk_transcribes_and_translates_through_the_service()
    {
        var client = new OpenAIClient(new System.ClientModel.ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(f.Service.BaseAddress, "/v1") });
        var audio = client.GetAudioClient("whisper-1");
        var expected = Direct(Speech, new TranscribeOptions { Language = "en" });
        using (var stream = File.OpenRead(AudioFiles.LibriVox()))
        {
            var result = (await audio.TranscribeAudioAsync(stream, "speech.wav", new AudioTranscriptionOptions
            {
                Language = "en",
                ResponseFormat = AudioTranscriptionFormat.Verbose,
                TimestampGranularities = AudioTimestampGranularities.Segment,
            })).Value;
            Assert.Equal(expected.Text, result.Text);
            Assert.Equal(expected.Segments.Count, result.Segments.Count);
            Assert.Equal(TimeSpan.FromSeconds(expected.Segments[0].End), result.Segments[0].EndTime);
            Assert.Equal(expected.Duration, result.Duration!.Value.TotalSeconds, 2);
        }
        using (var stream = File.OpenRead(AudioFiles.LibriVox()))
        {
            var translation = (await audio.TranslateAudioAsync(stream, "speech.wav")).Value;
            var direct = Direct(Speech, new TranscribeOptions { Task = Hailo.Runtime.Npu.SpeechTask.Translate });
            Assert.Equal(direct.Text, translation.Text);
        }
        var e = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => audio.TranscribeAudioAsync(new MemoryStream(Encoding.ASCII.GetBytes("not audio at all")), "x.wav"));
        Assert.Equal(415, e.Status);
    }

    [Fact]
    public async Task Webm_opus_from_a_browser_gives_the_same_text_as_the_wav_and_bad_webm_is_a_400()
    {
        async Task<string> Text(byte[] audio, string name)
        {
            var r = await Client.PostAsync("/v1/audio/transcriptions", Form(audio, name, ("language", "en"), ("response_format", "text")));
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, body);
            return body;
        }
        var webm = File.ReadAllBytes(WebmTests.SpeechWebm());
        var text = await Text(webm, "recording.webm");
        Assert.False(string.IsNullOrWhiteSpace(text));
        Assert.Equal(await Text(Speech, "speech.wav"), text);
        await Error(await Client.PostAsync("/v1/audio/transcriptions", Form(webm[..(webm.Length / 2)], "cut.webm")), 400, "invalid_audio");
        byte[] garbage = [0x1A, 0x45, 0xDF, 0xA3, .. new Random(9).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 3000)];
        await Error(await Client.PostAsync("/v1/audio/transcriptions", Form(garbage, "x.webm")), 400, "invalid_audio");
    }

    [Fact]
    public async Task M4a_from_safari_is_converted_by_ffmpeg_and_a_broken_one_is_a_400()
    {
        var m4a = File.ReadAllBytes(FfmpegTests.SpeechM4a());
        var r = await Client.PostAsync("/v1/audio/transcriptions", Form(m4a, "recording.mp4", ("language", "en")));
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        var expected = Transcriber.Run(new CpuWhisperModel(f.ModelPath, 1),
            (await AudioDecoder.DecodeAsync(m4a, 60, new FfmpegOptions(), CancellationToken.None)).Samples, new TranscribeOptions { Language = "en" }, 30, CancellationToken.None);
        Assert.Equal(expected.Text, JsonDocument.Parse(body).RootElement.GetProperty("text").GetString());
        Assert.InRange(double.Parse(r.Headers.GetValues("X-Audio-Seconds").Single(), System.Globalization.CultureInfo.InvariantCulture), 7.05, 7.15);
        await Error(await Client.PostAsync("/v1/audio/transcriptions", Form(m4a[..(m4a.Length / 2)], "cut.m4a")), 400, "invalid_audio");
        byte[] garbage = [.. m4a[..32], .. new Random(8).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 4000)];
        await Error(await Client.PostAsync("/v1/audio/transcriptions", Form(garbage, "x.m4a")), 400, "invalid_audio");
    }

    public static TheoryData<string> Endpoints() => ["/v1/audio/transcriptions", "/v1/audio/translations", "/inference"];

    private async Task<JsonElement> Error(HttpResponseMessage r, int status, string code)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(status == (int)r.StatusCode, $"{r.StatusCode}: {body}");
        var e = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", e.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString()));
        Assert.True(e.TryGetProperty("param", out _));
        return e;
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_float_wav_cut_short_of_its_data_chunk_is_answered_not_a_500(string path)
    {
        // Found by the fuzzer: a 32-bit float WAV whose data chunk says 52920 bytes and holds 60, sent twice.
        var wav = new byte[44 + 60];
        "RIFF"u8.CopyTo(wav);
        BitConverter.TryWriteBytes(wav.AsSpan(4), 36 + 52920);
        "WAVEfmt "u8.CopyTo(wav.AsSpan(8));
        BitConverter.TryWriteBytes(wav.AsSpan(16), 16);
        BitConverter.TryWriteBytes(wav.AsSpan(20), (short)3);      // IEEE float
        BitConverter.TryWriteBytes(wav.AsSpan(22), (short)1);
        BitConverter.TryWriteBytes(wav.AsSpan(24), 44100);
        BitConverter.TryWriteBytes(wav.AsSpan(28), 44100 * 4);
        BitConverter.TryWriteBytes(wav.AsSpan(32), (short)4);
        BitConverter.TryWriteBytes(wav.AsSpan(34), (short)32);
        "data"u8.CopyTo(wav.AsSpan(36));
        BitConverter.TryWriteBytes(wav.AsSpan(40), 52920);
        for (var i = 0; i < 15; i++) BitConverter.TryWriteBytes(wav.AsSpan(44 + 4 * i), 0.1f * MathF.Sin(i));
        using var form = Form(wav, "float.wav", ("prompt", "0x10"), ("response_format", "json"));
        var again = new ByteArrayContent(wav);
        again.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(again, "file", "float.wav");
        var r = await Client.PostAsync(path, form);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode is 200 or 400, $"{(int)r.StatusCode}: {body}");
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Bad_input_is_4xx_in_openais_error_shape_on_every_endpoint(string path)
    {
        var garbage = new Random(5).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 5000);
        var e = await Error(await Client.PostAsync(path, Form(garbage, "speech.wav")), 415, "unsupported_audio_format");
        Assert.Contains("flac", e.GetProperty("message").GetString());
        await Error(await Client.PostAsync(path, Form([], "empty.wav")), 400, "empty_file");
        var flac = File.ReadAllBytes(AudioFiles.Make("sine-long.flac", "flac", "-s", "-f", "-o", "{out}", AudioFiles.Sine("wav", 44100, 1, 6, "-b", "16")));
        await Error(await Client.PostAsync(path, Form(flac[..(flac.Length / 2)], "cut.flac")), 400, "invalid_audio");
        var silence = File.ReadAllBytes(AudioFiles.Make("silence-2h.flac", "sox", "-n", "-r", "16000", "-c", "1", "-b", "16", "{out}", "trim", "0", "7200"));
        await Error(await Client.PostAsync(path, Form(silence, "silence.flac")), 413, "audio_too_long");
        var wma = File.ReadAllBytes(AudioFiles.Sine("wav", 16000, 1, 1, "-b", "16"));
        wma[20] = 0x61; wma[21] = 0x01;
        await Error(await Client.PostAsync(path, Form(wma, "wma.wav")), 415, "unsupported_audio_format");
        await Error(await Client.PostAsync(path, Form(Speech, fields: [("model", "gpt-4o")])), 400, "model_not_found");
        await Error(await Client.PostAsync(path, Form(Speech, fields: [("response_format", "docx")])), 400, "invalid_response_format");
        await Error(await Client.PostAsync(path, Form(Speech, fields: [("temperature", "hot")])), 400, "invalid_temperature");
        await Error(await Client.PostAsync(path, Form(Speech, fields: [("language", "klingon")])), 400, "invalid_language");
        var noFile = new MultipartFormDataContent { { new StringContent("whisper-1"), "model" } };
        await Error(await Client.PostAsync(path, noFile), 400, "missing_file");
        var raw = new ByteArrayContent(Speech) { Headers = { ContentType = new MediaTypeHeaderValue("audio/wav") } };
        var r = await Client.PostAsync(path, raw);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        Assert.Contains("multipart", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Models_lists_whisper_1_as_an_alias_and_accepts_the_earlier_model_name()
    {
        var models = JsonDocument.Parse(await Client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", models.GetProperty("object").GetString());
        var first = models.GetProperty("data")[0];
        Assert.Equal("whisper-1", first.GetProperty("id").GetString());
        Assert.Equal("whisper-base", first.GetProperty("alias_of").GetString());
        Assert.Equal("ready", first.GetProperty("status").GetString());
        Assert.True(first.GetProperty("created").GetInt64() > 0);
        // The earlier implementation insisted on model=Whisper-Base (its model id); that still names this model.
        var r = await Client.PostAsync("/v1/audio/transcriptions", Form(Speech, fields: [("model", "Whisper-Base"), ("language", "en")]));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public void The_default_decoder_is_reused_and_other_settings_get_their_own_up_to_the_limit()
    {
        using var model = new CpuWhisperModel(f.ModelPath, 1, cachedDecoders: 2);
        var audio = AudioDecoder.Decode(Speech, 60).Samples;
        Assert.Equal(1, model.CachedDecoders);
        model.Transcribe(audio, new TranscribeOptions { Language = "en" });
        model.Transcribe(audio, new TranscribeOptions { Language = "de" });
        Assert.Equal(1, model.CachedDecoders);
        model.Transcribe(audio, new TranscribeOptions { Prompt = "Elinor, Marianne" });
        Assert.Equal(2, model.CachedDecoders);
        model.Transcribe(audio, new TranscribeOptions { Temperature = 0.4f });
        Assert.Equal(2, model.CachedDecoders);
        // Idle, the service gives back every decoder but the default request's; the model still answers after.
        model.ReleaseIdleDecoders();
        Assert.Equal(1, model.CachedDecoders);
        model.Transcribe(audio, new TranscribeOptions { Language = "en" });
        Assert.Equal(1, model.CachedDecoders);
        model.Transcribe(audio, new TranscribeOptions { Temperature = 0.4f });
        Assert.Equal(2, model.CachedDecoders);
    }
}
