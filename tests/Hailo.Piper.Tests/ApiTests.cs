using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using HailoPiper;
using HailoPiper.Engine;
using OpenAI;
using OpenAI.Audio;
using Xunit;

namespace Hailo.Piper.Tests;

internal static class Http
{
    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> Speech(this HttpClient c, string body) => c.PostAsync("/v1/audio/speech", Json(body));

    /// <summary>Asserts a 4xx/5xx in OpenAI's error shape with the code, and returns the message.</summary>
    public static async Task<string> AssertOpenAiError(HttpResponseMessage r, HttpStatusCode status, string code)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(status == r.StatusCode, $"expected {(int)status}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var e = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal((int)status >= 500 ? "server_error" : "invalid_request_error", e.GetProperty("type").GetString());
        var message = e.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    public static short[] Pcm16(ReadOnlySpan<byte> bytes)
    {
        var s = new short[bytes.Length / 2];
        for (var i = 0; i < s.Length; i++) s[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]);
        return s;
    }
}

/// <summary>The HTTP API with the fake voices: formats, voices, options, streaming, the earlier routes and bad input.</summary>
public sealed class ApiTests(PiperFixture f) : IClassFixture<PiperFixture>
{
    private HttpClient Client => f.Client;

    private static int Expected(string text, int rate, float speed = 1) =>
        SineVoice.Sentences(text).Sum(s => SineVoice.Length(s, rate, new SynthesisOptions(speed)));

    [Fact]
    public async Task Health_says_cpu_and_the_default_voice_is_loaded_at_start()
    {
        var r = await Client.GetAsync("/health");
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Contains("Hailo-10H has no text-to-speech model", body.GetProperty("backend_reason").GetString());
        var models = body.GetProperty("models").EnumerateArray().ToList();
        Assert.Contains(models, m => m.GetProperty("name").GetString() == "espeak:en-us" && m.GetProperty("state").GetString() == "ready");
        Assert.Equal("text/plain", (await Client.GetAsync("/metrics")).Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Models_lists_openai_names_and_every_voice_with_its_state()
    {
        var data = JsonDocument.Parse(await Client.GetStringAsync("/v1/models")).RootElement.GetProperty("data").EnumerateArray().ToList();
        var ids = data.Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(["tts-1", "tts-1-hd", "piper"], ids.Take(3));
        Assert.Contains("espeak:en-us", ids);
        Assert.Equal("missing", data.Single(m => m.GetProperty("id").GetString() == "en_US-amy-low").GetProperty("status").GetString());
        Assert.Contains(data.Single(m => m.GetProperty("id").GetString() == "en_US-lessac-medium").GetProperty("status").GetString(), new[] { "available", "loaded" });
        Assert.Contains("xx_XX-multi-low", ids); // found on disk, not in the catalog
    }

    [Fact]
    public async Task Voices_lists_languages_rates_speakers_installed_and_loaded()
    {
        var root = JsonDocument.Parse(await Client.GetStringAsync("/v1/voices")).RootElement;
        Assert.Equal("espeak:en-us", root.GetProperty("default").GetString());
        var voices = root.GetProperty("voices").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
        var espeak = voices["espeak:en-us"];
        Assert.True(espeak.GetProperty("loaded").GetBoolean());
        Assert.Equal("en_US", espeak.GetProperty("language").GetString());
        Assert.Equal("espeak-ng", espeak.GetProperty("engine").GetString());
        var lessac = voices["en_US-lessac-medium"];
        Assert.True(lessac.GetProperty("installed").GetBoolean());
        Assert.Equal(22050, lessac.GetProperty("sample_rate").GetInt32());
        Assert.Equal(["nova"], lessac.GetProperty("openai_voices").EnumerateArray().Select(v => v.GetString()));
        var multi = voices["xx_XX-multi-low"];
        Assert.Equal(16000, multi.GetProperty("sample_rate").GetInt32());
        Assert.Equal(["alice", "bob"], multi.GetProperty("speakers").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("xx_XX", multi.GetProperty("language").GetString());
        var amy = voices["en_US-amy-low"];
        Assert.False(amy.GetProperty("installed").GetBoolean());
        Assert.Contains("pull en_US-amy-low", amy.GetProperty("pull").GetString());
    }

    [Fact]
    public async Task Openapi_lists_every_route()
    {
        var doc = JsonDocument.Parse(await Client.GetStringAsync("/openapi/v1.json")).RootElement.GetProperty("paths");
        foreach (var route in OpenApiRoutes.Of(f.Service.App))
            Assert.True(doc.TryGetProperty(route, out _), $"{route} is not in the OpenAPI document");
        foreach (var route in new[] { "/v1/audio/speech", "/v1/synthesize", "/v1/voices", "/v1/models", "/health", "/metrics" })
            Assert.True(doc.TryGetProperty(route, out _), route);
        Assert.True(doc.GetProperty("/v1/audio/speech").GetProperty("post").GetProperty("responses").TryGetProperty("400", out _));
    }

    [Fact]
    public async Task Wav_is_16_bit_mono_at_the_voices_rate_with_every_sentence()
    {
        const string text = "Hello there. This is a test. Goodbye.";
        var r = await Client.Speech($$"""{"model":"tts-1","input":"{{text}}","voice":"alloy","response_format":"wav"}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("audio/wav", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("espeak:en-us", r.Headers.GetValues("X-Voice").Single());
        var wav = await r.Content.ReadAsByteArrayAsync();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal("WAVE", Encoding.ASCII.GetString(wav, 8, 4));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(20))); // PCM
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(22))); // mono
        Assert.Equal(22050, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(34)));
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40))); // streamed: length unknown up front
        var samples = Http.Pcm16(wav.AsSpan(44));
        Assert.Equal(Expected(text, 22050), samples.Length);
        Assert.InRange(samples.Max(), 16000, 16384); // the sine at 0.5
    }

    [Fact]
    public async Task Pcm_is_24_kHz_16_bit_mono_resampled_from_the_voice()
    {
        const string text = "One sentence. And another one.";
        var r = await Client.Speech($$"""{"model":"tts-1","input":"{{text}}","voice":"alloy","response_format":"pcm"}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("audio/pcm", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("24000", r.Headers.GetValues("X-Sample-Rate").Single());
        var samples = Http.Pcm16(await r.Content.ReadAsByteArrayAsync());
        var expected = Expected(text, 22050) * 24000.0 / 22050;
        Assert.InRange(samples.Length, expected - 2, expected + 2);
        // Still a 440 Hz tone: zero crossings over the first sentence's tone ≈ 2 × 440 per second.
        var tone = samples.AsSpan(100, 2000);
        var crossings = 0;
        for (var i = 1; i < tone.Length; i++) if ((tone[i - 1] < 0) != (tone[i] < 0)) crossings++;
        Assert.InRange(crossings / (tone.Length / 24000.0), 2 * 440 * 0.95, 2 * 440 * 1.05);
    }

    [Theory]
    [InlineData(null, "mp3", "audio/mpeg", 22050)] // OpenAI's default format
    [InlineData("mp3", "mp3", "audio/mpeg", 22050)]
    [InlineData("opus", "opus", "audio/ogg", 48000)]
    [InlineData("aac", "aac", "audio/aac", 22050)]
    [InlineData("flac", "flac", "audio/flac", 22050)]
    public async Task Every_compressed_format_decodes_to_the_voices_audio(string? format, string codec, string contentType, int rate)
    {
        const string text = "One sentence. And another one.";
        var field = format is null ? "" : $",\"response_format\":\"{format}\"";
        var r = await Client.Speech($$"""{"input":"{{text}}","voice":"alloy"{{field}}}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(contentType, r.Content.Headers.ContentType?.MediaType);
        var decoded = ProbedAudio.From(await r.Content.ReadAsByteArrayAsync(), Enum.Parse<Hailo.Audio.Encoding.AudioFormat>(codec, ignoreCase: true));
        Assert.Equal(codec, decoded.Codec);
        Assert.Equal(rate, decoded.SampleRate);
        Assert.Equal(1, decoded.Channels);
        Assert.Equal("", decoded.Errors);
        // mp3 and aac carry the encoder's delay and padding (up to ~0.1 s) as leading and trailing silence.
        Assert.InRange(decoded.Seconds, Expected(text, 22050) / 22050.0 - 0.05, Expected(text, 22050) / 22050.0 + 0.15);
        Assert.InRange(decoded.DominantFrequency(), 435, 445);
    }

    [Fact]
    public async Task Speed_reaches_the_voice_and_shortens_the_audio()
    {
        const string text = "Some words to speak quickly.";
        var slow = await (await Client.Speech($$"""{"input":"{{text}}","voice":"alloy","response_format":"wav","speed":0.5}""")).Content.ReadAsByteArrayAsync();
        var fast = await (await Client.Speech($$"""{"input":"{{text}}","voice":"alloy","response_format":"wav","speed":2}""")).Content.ReadAsByteArrayAsync();
        Assert.Equal(Expected(text, 22050, 0.5f), (slow.Length - 44) / 2);
        Assert.Equal(Expected(text, 22050, 2f), (fast.Length - 44) / 2);
    }

    [Theory]
    [InlineData("\"nova\"", null, "en_US-lessac-medium")]
    [InlineData("\"alloy\"", null, "espeak:en-us")]
    [InlineData("\"ALLOY\"", null, "espeak:en-us")]
    [InlineData("{\"id\":\"en_US-lessac-medium\"}", null, "en_US-lessac-medium")]
    [InlineData("\"xx_XX-multi-low\"", "tts-1-hd", "xx_XX-multi-low")]
    [InlineData("\"alloy\"", "xx_XX-multi-low", "xx_XX-multi-low")]
    [InlineData("\"espeak:en-us\"", "piper", "espeak:en-us")]
    [InlineData("null", null, "espeak:en-us")]
    public async Task The_voice_comes_from_voice_or_the_model_or_openais_names(string voice, string? model, string expected)
    {
        var m = model is null ? "" : $",\"model\":\"{model}\"";
        var r = await Client.Speech($$"""{"input":"Hi.","voice":{{voice}},"response_format":"pcm"{{m}}}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(expected, r.Headers.GetValues("X-Voice").Single());
    }

    [Fact]
    public async Task Sse_sends_audio_deltas_then_done_with_the_same_audio()
    {
        const string text = "First part. Second part.";
        var plain = await (await Client.Speech($$"""{"input":"{{text}}","voice":"alloy","response_format":"pcm"}""")).Content.ReadAsByteArrayAsync();
        var r = await Client.Speech($$"""{"input":"{{text}}","voice":"alloy","response_format":"pcm","stream_format":"sse"}""");
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.True(events.Count >= 3);
        Assert.All(events[..^1], e => Assert.Equal("speech.audio.delta", e.GetProperty("type").GetString()));
        Assert.Equal("speech.audio.done", events[^1].GetProperty("type").GetString());
        var audio = events[..^1].SelectMany(e => Convert.FromBase64String(e.GetProperty("audio").GetString()!)).ToArray();
        Assert.Equal(plain, audio);
    }

    [Fact]
    public async Task The_first_sentence_is_sent_before_the_second_is_synthesised()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Loader.HoldSecondSentence = hold;
        try
        {
            const string text = "The first sentence is here. The second one waits.";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech")
            {
                Content = Http.Json($$"""{"input":"{{text}}","voice":"alloy","response_format":"wav"}"""),
            };
            using var r = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var stream = await r.Content.ReadAsStreamAsync();
            var first = 44 + 2 * SineVoice.Length("The first sentence is here", 22050, new SynthesisOptions());
            var buffer = new byte[first + 100_000];
            var got = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (got < first) got += await stream.ReadAsync(buffer.AsMemory(got), timeout.Token);
            Assert.Equal(first, got); // all of sentence one, nothing of sentence two: that is still held
            Assert.False(hold.Task.IsCompleted);
            hold.SetResult();
            var rest = new MemoryStream();
            await stream.CopyToAsync(rest);
            Assert.Equal(2 * SineVoice.Length("The second one waits", 22050, new SynthesisOptions()), rest.Length);
        }
        finally
        {
            f.Loader.HoldSecondSentence = null;
            hold.TrySetResult();
        }
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_speech_frees_the_voice()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Loader.HoldSecondSentence = hold;
        try
        {
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech")
                   { Content = Http.Json("""{"input":"Heard. Never made.","voice":"alloy","response_format":"pcm"}""") })
            using (var r = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            {
                var stream = await r.Content.ReadAsStreamAsync();
                Assert.True(await stream.ReadAsync(new byte[64]) > 0);
            } // gone while the voice waits before its second sentence
            f.Loader.HoldSecondSentence = null;
            // The same voice (one synthesis at a time) answers the next request: the abandoned one was cancelled.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var next = await Client.PostAsync("/v1/audio/speech", Http.Json("""{"input":"Next.","voice":"alloy","response_format":"pcm"}"""), timeout.Token);
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            Assert.False(hold.Task.IsCompleted);
        }
        finally
        {
            f.Loader.HoldSecondSentence = null;
            hold.TrySetResult();
        }
    }

    [Fact]
    public async Task The_openai_dotnet_sdk_saves_a_wav_that_decodes()
    {
        var client = new OpenAIClient(new System.ClientModel.ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(f.Service.BaseAddress, "/v1") });
        var audio = client.GetAudioClient("tts-1");
        var result = (await audio.GenerateSpeechAsync("Hello from the SDK.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav, SpeedRatio = 1.5f })).Value.ToArray();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(result, 0, 4));
        Assert.Equal(Expected("Hello from the SDK.", 22050, 1.5f), (result.Length - 44) / 2);
    }

    [Fact]
    public async Task The_openai_dotnet_sdk_saves_an_mp3_that_decodes()
    {
        var client = new OpenAIClient(new System.ClientModel.ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(f.Service.BaseAddress, "/v1") });
        var mp3 = (await client.GetAudioClient("tts-1").GenerateSpeechAsync("Hello from the SDK. In MP3.", GeneratedSpeechVoice.Nova)).Value.ToArray();
        var decoded = ProbedAudio.From(mp3, Hailo.Audio.Encoding.AudioFormat.Mp3);
        Assert.Equal(("mp3", 1, ""), (decoded.Codec, decoded.Channels, decoded.Errors));
        Assert.InRange(decoded.Seconds, Expected("Hello from the SDK. In MP3.", 22050) / 22050.0 - 0.05, Expected("Hello from the SDK. In MP3.", 22050) / 22050.0 + 0.15);
    }

    [Fact]
    public async Task Synthesize_answers_a_whole_wav_with_its_sizes_and_the_options_reach_the_voice()
    {
        const string text = "Earlier route. Still works.";
        var r = await Client.PostAsync("/v1/synthesize", Http.Json($$"""{"text":"{{text}}","voice":"xx_XX-multi-low","length_scale":2,"speaker_id":1,"noise_scale":0.5,"noise_w":0.6,"sentence_silence":0}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("audio/wav", r.Content.Headers.ContentType?.MediaType);
        var wav = await r.Content.ReadAsByteArrayAsync();
        Assert.Equal(16000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal((uint)(wav.Length - 44), BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40)));
        Assert.Equal((uint)(wav.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(4)));
        var o = f.Loader.Options.Last(x => x.SpeakerId == 1);
        Assert.Equal(0.5f, o.Speed);
        Assert.Equal(0.5f, o.NoiseScale);
        Assert.Equal(0.6f, o.NoiseW);
        Assert.Equal(0f, o.SentenceSilenceSeconds);
        Assert.Equal(SineVoice.Sentences(text).Sum(s => SineVoice.Length(s, 16000, o)), (wav.Length - 44) / 2);
    }

    [Fact]
    public async Task Synthesize_takes_just_text_as_the_earlier_clients_send_it()
    {
        var r = await Client.PostAsync("/v1/synthesize", Http.Json("""{"text":"Just text."}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("espeak:en-us", r.Headers.GetValues("X-Voice").Single());
    }

    public static TheoryData<string, string, string> BadSpeech() => new()
    {
        { """{"input":"","voice":"alloy","response_format":"wav"}""", "invalid_input", "input" },
        { """{"input":"   \n ","voice":"alloy","response_format":"wav"}""", "invalid_input", "input" },
        { """{"voice":"alloy","response_format":"wav"}""", "invalid_input", "input" },
        { """{"input":"bell \u0007 here","voice":"alloy","response_format":"wav"}""", "invalid_input", "input" },
        { """{"input":"nul \u0000 here","voice":"alloy","response_format":"wav"}""", "invalid_input", "input" },
        { """{"input":"half \ud800 a pair","voice":"alloy","response_format":"wav"}""", "invalid_json", "" },
        { """{"input":"hi","voice":"nobody","response_format":"wav"}""", "invalid_voice", "voice" },
        { """{"input":"hi","voice":"en_US-amy-low","response_format":"wav"}""", "voice_not_installed", "voice" },
        { """{"input":"hi","voice":42,"response_format":"wav"}""", "invalid_voice", "voice" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","speed":0}""", "invalid_speed", "speed" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","speed":100}""", "invalid_speed", "speed" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","speed":0.2}""", "invalid_speed", "speed" },
        { """{"input":"hi","voice":"alloy","response_format":"ogg"}""", "invalid_response_format", "response_format" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","stream_format":"ws"}""", "invalid_stream_format", "stream_format" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","model":"gpt-5"}""", "model_not_found", "model" },
        { """{"input":"hi","voice":"alloy","response_format":"wav","nope":1}""", "invalid_json", "nope" },
        { """{"input":5,"voice":"alloy"}""", "invalid_json", "input" },
        { """[1,2]""", "invalid_json", "" },
        { """{"input":"hi",""", "invalid_json", "" },
        { "", "invalid_json", "" },
        { "null", "invalid_json", "" },
    };

    [Theory]
    [MemberData(nameof(BadSpeech))]
    public async Task Bad_speech_requests_are_400_in_openais_shape(string body, string code, string param)
    {
        var r = await Client.Speech(body);
        var text = await r.Content.ReadAsStringAsync();
        await Http.AssertOpenAiError(new HttpResponseMessage(r.StatusCode) { Content = new StringContent(text, Encoding.UTF8, "application/json") }, HttpStatusCode.BadRequest, code);
        if (param.Length > 0) Assert.Equal(param, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_unknown_voice_is_told_the_available_ones()
    {
        var message = await Http.AssertOpenAiError(await Client.Speech("""{"input":"hi","voice":"nobody","response_format":"wav"}"""), HttpStatusCode.BadRequest, "invalid_voice");
        Assert.Contains("espeak:en-us", message);
        Assert.Contains("en_US-lessac-medium", message);
        Assert.Contains("alloy", message);
        Assert.DoesNotContain("en_US-amy-low", message); // not installed
    }

    [Fact]
    public async Task Input_over_the_limit_and_a_megabyte_of_input_are_refused()
    {
        var over = new string('a', 4097);
        var message = await Http.AssertOpenAiError(await Client.Speech($$"""{"input":"{{over}}","voice":"alloy","response_format":"wav"}"""), HttpStatusCode.BadRequest, "input_too_long");
        Assert.Contains("4096", message);
        await Http.AssertOpenAiError(await Client.Speech($$"""{"input":"{{new string('a', 4096)}}.","voice":"alloy","response_format":"wav"}"""), HttpStatusCode.BadRequest, "input_too_long");
        var mb = new string('a', 1 << 20);
        await Http.AssertOpenAiError(await Client.Speech($$"""{"input":"{{mb}}","voice":"alloy","response_format":"wav"}"""), HttpStatusCode.BadRequest, "input_too_long");
    }

    [Fact]
    public async Task Invalid_utf8_and_the_wrong_content_type_are_refused()
    {
        var bytes = new ByteArrayContent([.. "{\"input\":\"caf"u8.ToArray(), 0xC3, 0x28, .. "\",\"voice\":\"alloy\",\"response_format\":\"wav\"}"u8.ToArray()]);
        bytes.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await Http.AssertOpenAiError(await Client.PostAsync("/v1/audio/speech", bytes), HttpStatusCode.BadRequest, "invalid_json");
        var text = new StringContent("""{"input":"hi","voice":"alloy","response_format":"wav"}""", Encoding.UTF8, "text/plain");
        await Http.AssertOpenAiError(await Client.PostAsync("/v1/audio/speech", text), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        var form = new FormUrlEncodedContent([new("input", "hi")]);
        await Http.AssertOpenAiError(await Client.PostAsync("/v1/synthesize", form), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    public static TheoryData<string, string, string> BadSynthesize() => new()
    {
        { """{"text":""}""", "invalid_input", "text" },
        { """{}""", "invalid_input", "text" },
        { """{"text":"a\u001bb"}""", "invalid_input", "text" },
        { """{"text":"hi","voice":"nobody"}""", "invalid_voice", "voice" },
        { """{"text":"hi","speed":0}""", "invalid_speed", "speed" },
        { """{"text":"hi","length_scale":100}""", "invalid_parameter", "length_scale" },
        { """{"text":"hi","speed":1,"length_scale":1}""", "invalid_parameter", "length_scale" },
        { """{"text":"hi","speaker_id":1}""", "invalid_parameter", "speaker_id" },
        { """{"text":"hi","voice":"xx_XX-multi-low","speaker_id":2}""", "invalid_parameter", "speaker_id" },
        { """{"text":"hi","voice":"xx_XX-multi-low","speaker_id":-1}""", "invalid_parameter", "speaker_id" },
        { """{"text":"hi","noise_scale":-1}""", "invalid_parameter", "noise_scale" },
        { """{"text":"hi","noise_w":0.5,"noise_w_scale":0.5}""", "invalid_parameter", "noise_w_scale" },
        { """{"text":"hi","sentence_silence":60}""", "invalid_parameter", "sentence_silence" },
        { """{"text":"hi","format":"mp3"}""", "unsupported_format", "format" },
        { """{"text":"hi","speaker_id":"one"}""", "invalid_json", "speaker_id" },
        { """{"text":"hi","unknown":true}""", "invalid_json", "unknown" },
        { """garbage""", "invalid_json", "" },
    };

    [Theory]
    [MemberData(nameof(BadSynthesize))]
    public async Task Bad_synthesize_requests_are_400(string body, string code, string param)
    {
        var r = await Client.PostAsync("/v1/synthesize", Http.Json(body));
        var text = await r.Content.ReadAsStringAsync();
        await Http.AssertOpenAiError(new HttpResponseMessage(r.StatusCode) { Content = new StringContent(text, Encoding.UTF8, "application/json") }, HttpStatusCode.BadRequest, code);
        if (param.Length > 0) Assert.Equal(param, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("param").GetString());
    }
}
