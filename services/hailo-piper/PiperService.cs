using Hailo.Core;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Hosting.OpenAi;
using Hailo.Wyoming;
using HailoPiper.Api;
using HailoPiper.Engine;
using HailoPiper.Voices;
using HailoPiper.Wyoming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HailoPiper;

/// <summary>hailo-piper: the service definition, its endpoints and request handling.</summary>
public static class PiperService
{
    /// <summary>Why the backend is the CPU, as /health says it.</summary>
    public const string BackendReason = "text to speech runs on the CPU (the Hailo-10H has no text-to-speech model)";

    public static readonly ServiceDefinition<PiperConfig> Definition = new()
    {
        Name = "hailo-piper",
        DefaultPort = 5003,
        Summary = "Text to speech (Flite and espeak-ng voices built in, Piper voices) with OpenAI's /v1/audio/speech, the earlier /v1/synthesize and the Wyoming protocol for Home Assistant.",
        ConfigType = PiperConfigJson.Default.PiperConfig,
        Defaults = () => new PiperConfig(),
        Catalog = PiperModels.Catalog,
        // The default voice is built in; `pull` without names fetches the standard Piper voice when the network allows.
        DefaultModels = c => [PiperModels.Catalog.Any(m => m.Name == c.Piper.DefaultVoice) ? c.Piper.DefaultVoice : "en_US-lessac-medium"],
        Configure = Configure,
        Map = Map,
    };

    private static void Configure(ServiceContext<PiperConfig> ctx)
    {
        var s = ctx.Builder.Services;
        s.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, PiperJson.Default));
        s.AddSingleton<IErrorWriter, OpenAiErrorWriter>();
        ctx.State.SetBackend(Backend.Cpu, BackendReason);
        s.AddSingleton(sp => new VoiceCatalog(ctx.Config, sp.GetRequiredService<ModelStore>()));
        s.TryAddSingleton<IVoiceLoader, EngineVoiceLoader>();
        s.AddSingleton<VoicePool>();
        s.AddSingleton<IPreloadable>(sp => sp.GetRequiredService<VoicePool>());
        if (ctx.Config.Wyoming.Enabled)
            s.AddSingleton<IHostedService>(sp => new WyomingServer(ctx.Config.Wyoming.Host, ctx.Config.Wyoming.Port, ctx.Config.Wyoming.Limits(),
                new SynthesisHandler(ctx.Config, sp.GetRequiredService<VoiceCatalog>(), sp.GetRequiredService<VoicePool>()),
                sp.GetRequiredService<ILogger<WyomingServer>>()));
    }

    private static void Map(WebApplication app, ServiceContext<PiperConfig> ctx)
    {
        // Resolve the pool now so /health reports the default voice from the first request on.
        var pool = app.Services.GetRequiredService<VoicePool>();
        var catalog = app.Services.GetRequiredService<VoiceCatalog>();
        if (catalog.Find(ctx.Config.Piper.DefaultVoice) is not { Installed: true })
            ctx.State.SetModel(new ModelStatus(ctx.Config.Piper.DefaultVoice, ModelState.Missing, "the default voice is not installed",
                ctx.PullCommand(ctx.Config.Piper.DefaultVoice)));
        var config = ctx.Config;

        var api = app.MapServiceGroup<OpenAiErrorEnvelope>("speech");
        api.MapPost("/v1/audio/speech", (HttpContext http, CancellationToken ct) => SpeechAsync(http, config, catalog, pool, ctx, ct))
            .WithName("speech")
            .WithSummary("Speak text (OpenAI)")
            .WithDescription("JSON {model, input, voice, response_format, speed, stream_format}. model: tts-1, tts-1-hd, piper or a voice's name; " +
                             "voice: a voice's name or one of OpenAI's (alloy, echo, …; piper.openai_voices maps them); response_format: mp3 (default), opus, aac, flac, wav or pcm " +
                             "(pcm: raw 24 kHz 16-bit mono; opus: Ogg at 48 kHz; aac needs ffmpeg); speed 0.25-4; stream_format audio or sse. " +
                             "Audio is sent sentence by sentence as it is made.")
            .Accepts<SpeechRequest>("application/json")
            .WithBodyLimit()
            .Produces(200, null, "audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/wav", "audio/pcm", "text/event-stream");

        api.MapPost("/v1/synthesize", (HttpContext http, CancellationToken ct) => SynthesizeAsync(http, config, catalog, pool, ctx, ct))
            .WithName("synthesize")
            .WithSummary("Speak text into a WAV file (the earlier implementation's route)")
            .WithDescription("JSON {text, voice, speed | length_scale, speaker_id, noise_scale, noise_w, sentence_silence}; the answer is a whole WAV file (16-bit mono at the voice's rate).")
            .Accepts<SynthesizeRequest>("application/json")
            .WithBodyLimit()
            .Produces(200, null, "audio/wav");

        api.MapGet("/v1/voices", () => TypedResults.Json(Voices(config, catalog, pool, ctx), PiperJson.Default.VoiceList))
            .WithName("voices").WithSummary("Every voice: languages, rate, speakers, installed, loaded").Produces<VoiceList>(200);

        api.MapGet("/v1/models", () => TypedResults.Json(Models(config, catalog, pool), PiperJson.Default.OpenAiModelList))
            .WithName("models").WithSummary("OpenAI's model names this service answers, and every voice").Produces<OpenAiModelList>(200);
    }

    private static readonly long s_created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static VoiceList Voices(PiperConfig config, VoiceCatalog catalog, VoicePool pool, ServiceContext<PiperConfig> ctx) => new(
        catalog.All().Select(v =>
        {
            var loaded = pool.Loaded(v.Name);
            var languages = loaded?.Languages is { Count: > 0 } l ? l : v.Languages;
            return new VoiceEntry(v.Name, v.Name, v.Kind switch { VoiceKind.Espeak => "espeak-ng", VoiceKind.Flite => "flite", _ => "piper" }, languages, languages[0],
                loaded?.SampleRate ?? v.SampleRate, loaded?.Speakers ?? v.Speakers, v.Installed, loaded is not null, v.Description,
                config.Piper.OpenaiVoices.Where(kv => string.Equals(kv.Value, v.Name, StringComparison.OrdinalIgnoreCase)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray(),
                v.Installed ? null : ctx.PullCommand(v.Name));
        }).ToArray(),
        config.Piper.DefaultVoice);

    internal static OpenAiModelList Models(PiperConfig config, VoiceCatalog catalog, VoicePool pool)
    {
        var list = PiperModels.ModelAliases.Select(a => new OpenAiModel(a, "model", s_created, "hailo", Backend.Cpu.Name(), "ready",
            $"speaks with the request's voice (default {config.Piper.DefaultVoice})", config.Piper.DefaultVoice)).ToList();
        foreach (var v in catalog.All())
            list.Add(new OpenAiModel(v.Name, "model", s_created, "hailo", Backend.Cpu.Name(),
                pool.IsLoaded(v.Name) ? "loaded" : v.Installed ? "available" : "missing", v.Description));
        return new OpenAiModelList("list", list);
    }

    /// <summary>Text a voice is given, checked: present, not blank, within the limit, no control characters but \n, \r, \t.</summary>
    internal static string CheckText(string? text, string param, int maxChars)
    {
        if (text is null) throw ApiException.BadRequest("invalid_input", $"'{param}' is required: the text to speak", param);
        if (string.IsNullOrWhiteSpace(text)) throw ApiException.BadRequest("invalid_input", $"'{param}' is empty; give the text to speak", param);
        if (text.Length > maxChars)
            throw ApiException.BadRequest("input_too_long", $"'{param}' is {text.Length} characters long; at most {maxChars} are accepted (piper.max_input_chars)", param);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
                throw ApiException.BadRequest("invalid_input", $"'{param}' holds the control character U+{(int)c:X4} at {i}; only \\n, \\r and \\t are accepted", param);
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                throw ApiException.BadRequest("invalid_input", $"'{param}' holds an unpaired surrogate (U+{(int)c:X4}) at {i}; the text must be valid Unicode", param);
            }
        }
        return text;
    }

    internal static float CheckSpeed(double? speed, string param = "speed")
    {
        var s = speed ?? 1;
        if (double.IsNaN(s) || s < 0.25 || s > 4)
            throw ApiException.BadRequest("invalid_speed", $"'{param}' must be between 0.25 and 4.0, got {s.ToString(CultureInfo.InvariantCulture)}", param);
        return (float)s;
    }

    /// <summary>
    /// The voice a request speaks with: its voice by name, or the voice its model names when voice is absent or one of
    /// OpenAI's names, else OpenAI's name mapped by piper.openai_voices, else the default. 400 naming the voices for an
    /// unknown name, and with the pull command for a voice that is not installed.
    /// </summary>
    internal static VoiceInfo ResolveVoice(string? voice, string? model, PiperConfig config, VoiceCatalog catalog, ServiceContext<PiperConfig> ctx)
    {
        var openAi = voice is not null && config.Piper.OpenaiVoices.Keys.Any(k => string.Equals(k, voice, StringComparison.OrdinalIgnoreCase));
        string name;
        if (voice is not null && !openAi) name = voice;
        else if (model is not null && !IsModelAlias(model) && catalog.Find(model) is not null) name = model;
        else if (openAi) name = config.Piper.OpenaiVoices.First(kv => string.Equals(kv.Key, voice, StringComparison.OrdinalIgnoreCase)).Value;
        else name = config.Piper.DefaultVoice;

        var found = catalog.Find(name);
        if (found is null)
        {
            var installed = catalog.All().Where(v => v.Installed).Select(v => v.Name);
            throw ApiException.BadRequest("invalid_voice",
                $"unknown voice '{name}'; available: {string.Join(", ", installed.Concat(config.Piper.OpenaiVoices.Keys.Order(StringComparer.Ordinal)))} (GET /v1/voices lists every voice)", "voice");
        }
        if (!found.Installed)
            throw ApiException.BadRequest("voice_not_installed", $"voice '{found.Name}' is not installed; run: {ctx.PullCommand(found.Name)}", "voice");
        return found;
    }

    private static bool IsModelAlias(string model) => PiperModels.ModelAliases.Any(a => string.Equals(a, model, StringComparison.OrdinalIgnoreCase));

    internal static void CheckModel(string? model, VoiceCatalog catalog)
    {
        if (model is null || IsModelAlias(model) || catalog.Find(model) is not null) return;
        throw new ApiException(400, "model_not_found",
            $"unknown model '{model}'; this service answers {string.Join(", ", PiperModels.ModelAliases)} and every voice's name (GET /v1/models)") { Param = "model" };
    }

    /// <summary>voice as a name, or OpenAI's {"id": name}.</summary>
    private static string? VoiceName(JsonElement? voice) => voice switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { ValueKind: JsonValueKind.Object } v when v.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String => id.GetString(),
        _ => throw ApiException.BadRequest("invalid_voice", "'voice' must be a voice's name or {\"id\": name}", "voice"),
    };

    internal static async Task<IResult> SpeechAsync(HttpContext http, PiperConfig config, VoiceCatalog catalog, VoicePool pool,
        ServiceContext<PiperConfig> ctx, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var r = await JsonBody.ReadAsync(http.Request, PiperJson.Default.SpeechRequest, ct);
        CheckModel(r.Model, catalog);
        var input = CheckText(r.Input, "input", config.Piper.MaxInputChars);
        var voice = ResolveVoice(VoiceName(r.Voice), r.Model, config, catalog, ctx);
        var speed = CheckSpeed(r.Speed);
        var format = SpeechWriter.Check(r.ResponseFormat, options: config.Audio.EncoderOptions);
        var sse = (r.StreamFormat ?? "audio").Trim().ToLowerInvariant() switch
        {
            "audio" => false,
            "sse" => true,
            _ => throw ApiException.BadRequest("invalid_stream_format", $"'stream_format' must be audio or sse, got '{r.StreamFormat}'", "stream_format"),
        };
        var options = new SynthesisOptions(speed, SentenceSilenceSeconds: (float)config.Piper.SentenceSilenceSeconds);

        using var lease = await pool.AcquireAsync(voice, ct);
        await using var chunks = lease.SynthesizeAsync(input, options, ct).GetAsyncEnumerator(ct);
        // The first sentence (and with it a load failure, which is still a 503 here) comes before anything is sent.
        var any = await chunks.MoveNextAsync();
        await using var writer = SpeechWriter.Create(format, lease.SampleRate, config.Audio.EncoderOptions);
        var response = http.Response;
        response.Headers["X-Voice"] = voice.Name;
        response.Headers["X-Backend"] = Backend.Cpu.Name();
        response.Headers["X-Sample-Rate"] = writer.OutputRate.ToString(CultureInfo.InvariantCulture);
        response.Headers.CacheControl = "no-store";
        if (sse)
        {
            response.ContentType = "text/event-stream";
            var pending = writer.Header();
            while (any)
            {
                pending = [.. pending, .. await writer.WriteAsync(chunks.Current, ct)];
                // A compressed format may hold a short sentence back until the next one fills a frame.
                if (pending.Length > 0) await WriteEventAsync(response, new SpeechEvent("speech.audio.delta", Convert.ToBase64String(pending)), ct);
                pending = [];
                any = await chunks.MoveNextAsync();
            }
            var tail = await writer.FinishAsync(ct);
            if (tail.Length + pending.Length > 0) await WriteEventAsync(response, new SpeechEvent("speech.audio.delta", Convert.ToBase64String([.. pending, .. tail])), ct);
            await WriteEventAsync(response, new SpeechEvent("speech.audio.done"), ct);
        }
        else
        {
            response.ContentType = writer.ContentType;
            await response.Body.WriteAsync(writer.Header(), ct);
            while (any)
            {
                await response.Body.WriteAsync(await writer.WriteAsync(chunks.Current, ct), ct);
                await response.Body.FlushAsync(ct);
                any = await chunks.MoveNextAsync();
            }
            await response.Body.WriteAsync(await writer.FinishAsync(ct), ct);
        }
        ctx.Metrics.ObserveInference(voice.Name, "speech_request", Stopwatch.GetElapsedTime(started).TotalSeconds);
        return Results.Empty;
    }

    private static async Task WriteEventAsync(HttpResponse response, SpeechEvent e, CancellationToken ct)
    {
        await response.Body.WriteAsync("data: "u8.ToArray(), ct);
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(e, PiperJson.Default.SpeechEvent), ct);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>The options of /v1/synthesize, checked against the voice.</summary>
    internal static SynthesisOptions SynthesizeOptions(SynthesizeRequest r, VoiceInfo voice, PiperConfig config)
    {
        if (r.Speed is not null && r.LengthScale is not null)
            throw ApiException.BadRequest("invalid_parameter", "give 'speed' or 'length_scale', not both (speed = 1 / length_scale)", "length_scale");
        var speed = r.LengthScale is { } ls
            ? (double.IsNaN(ls) || ls < 0.25 || ls > 4
                ? throw ApiException.BadRequest("invalid_parameter", $"'length_scale' must be between 0.25 and 4.0, got {ls.ToString(CultureInfo.InvariantCulture)}", "length_scale")
                : (float)(1 / ls))
            : CheckSpeed(r.Speed);
        if (r.SpeakerId is { } sid && (sid < 0 || sid >= Math.Max(1, voice.Speakers.Count)))
            throw ApiException.BadRequest("invalid_parameter", voice.Speakers.Count == 0
                ? $"voice '{voice.Name}' has one speaker; 'speaker_id' must be 0 or absent, got {sid}"
                : $"'speaker_id' must be between 0 and {voice.Speakers.Count - 1} for voice '{voice.Name}', got {sid}", "speaker_id");
        static float? Scale(double? v, string name) => v is null ? null
            : double.IsNaN(v.Value) || v < 0 || v > 2 ? throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be between 0 and 2, got {v.Value.ToString(CultureInfo.InvariantCulture)}", name)
            : (float)v.Value;
        if (r.NoiseW is not null && r.NoiseWScale is not null)
            throw ApiException.BadRequest("invalid_parameter", "give 'noise_w' or 'noise_w_scale', not both", "noise_w_scale");
        var silence = r.SentenceSilence ?? config.Piper.SentenceSilenceSeconds;
        if (double.IsNaN(silence) || silence is < 0 or > 10)
            throw ApiException.BadRequest("invalid_parameter", $"'sentence_silence' must be between 0 and 10 seconds, got {silence.ToString(CultureInfo.InvariantCulture)}", "sentence_silence");
        if (r.Format is { } f && !string.Equals(f.Trim(), "wav", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest("unsupported_format", $"'format' '{f}' is not available here; /v1/synthesize answers wav (POST /v1/audio/speech takes response_format mp3, opus, aac, flac, wav or pcm)", "format");
        return new SynthesisOptions(speed, voice.Speakers.Count > 0 ? r.SpeakerId ?? 0 : null, Scale(r.NoiseScale, "noise_scale"),
            Scale(r.NoiseW, "noise_w") ?? Scale(r.NoiseWScale, "noise_w_scale"), (float)silence);
    }

    internal static async Task<IResult> SynthesizeAsync(HttpContext http, PiperConfig config, VoiceCatalog catalog, VoicePool pool,
        ServiceContext<PiperConfig> ctx, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var r = await JsonBody.ReadAsync(http.Request, PiperJson.Default.SynthesizeRequest, ct);
        var text = CheckText(r.Text, "text", config.Piper.MaxInputChars);
        var voice = ResolveVoice(r.Voice, null, config, catalog, ctx);
        var options = SynthesizeOptions(r, voice, config);

        using var lease = await pool.AcquireAsync(voice, ct);
        var chunks = new List<float[]>();
        await foreach (var chunk in lease.SynthesizeAsync(text, options, ct)) chunks.Add(chunk);
        var wav = SpeechWriter.Wav(chunks, lease.SampleRate);
        var seconds = chunks.Sum(c => (double)c.Length) / lease.SampleRate;
        var total = Stopwatch.GetElapsedTime(started).TotalSeconds;
        http.Response.Headers["X-Voice"] = voice.Name;
        http.Response.Headers["X-Audio-Seconds"] = seconds.ToString("0.###", CultureInfo.InvariantCulture);
        http.Response.Headers["X-Real-Time-Factor"] = (seconds > 0 ? total / seconds : 0).ToString("0.####", CultureInfo.InvariantCulture);
        return TypedResults.File(wav, "audio/wav", "speech.wav");
    }
}
