using System.Diagnostics;
using System.Globalization;
using Hailo.Core;
using Hailo.Audio;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Hosting.OpenAi;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using HailoWhisper.Api;
using HailoWhisper.Pipeline;
using Hailo.Wyoming;
using HailoWhisper.Wyoming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HailoWhisper;

/// <summary>hailo-whisper: the service definition, its endpoints and request handling.</summary>
public static class WhisperService
{
    /// <summary>Name under which a missing audio library shows on /health and STATUS=.</summary>
    public const string AudioComponent = "audio-decoder";

    public static readonly ServiceDefinition<WhisperConfig> Definition = new()
    {
        Name = "hailo-whisper",
        DefaultPort = 11437,
        Summary = "Speech to text (Whisper) with OpenAI's /v1/audio/transcriptions and /v1/audio/translations, and the Wyoming protocol for Home Assistant.",
        ConfigType = WhisperConfigJson.Default.WhisperConfig,
        Defaults = () => new WhisperConfig(),
        Catalog = WhisperModels.Catalog,
        DefaultModels = c => [c.Whisper.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    private static void Configure(ServiceContext<WhisperConfig> ctx)
    {
        // libsoxr links libgomp too, and libgomp reads OMP_WAIT_POLICY once, when it loads: set it before the audio
        // probe below loads libsoxr, not when the model loads (too late: libgomp would keep its threads spinning).
        CpuWhisperModel.PreferPassiveOpenMpThreads();
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WhisperJson.Default));
        ctx.Builder.Services.AddSingleton<IErrorWriter, OpenAiErrorWriter>();
        ctx.AddModelEngine<WhisperConfig, ISpeechModel>(ctx.Config.Whisper.CpuModel, ctx.Config.Whisper.NpuModel,
            loadCpu: (cpu, loc) => new CpuWhisperModel(loc[cpu.Files[0].Name], ctx.Config.Cpu.EffectiveThreads, ctx.Config.Whisper.CachedDecoders),
            loadNpu: (npu, vdevice, loc) => new NpuWhisperModel(SpeechToText.Create(vdevice, loc[npu.Files[0].Name])));
        if (ctx.Config.Wyoming.Enabled)
            ctx.Builder.Services.AddSingleton<IHostedService>(sp => new WyomingServer(ctx.Config.Wyoming.Host, ctx.Config.Wyoming.Port,
                ctx.Config.Wyoming.Limits(), new TranscriptionHandler(ctx.Config, sp.GetRequiredService<ModelEngine<ISpeechModel>>(), ctx.Metrics),
                sp.GetRequiredService<ILogger<WyomingServer>>()));
        if (!NativeAudio.Available)
            ctx.State.SetModel(new ModelStatus(AudioComponent, ModelState.Failed, NativeAudio.Reason, NativeAudio.Fix));
    }

    private static readonly (string Name, string Description)[] FormFields =
    [
        ("model", "whisper-1, or the name of the model this service runs"),
        ("language", "ISO-639-1 code of the spoken language (transcriptions; default: detect)"),
        ("prompt", "text that guides the style or spelling (e.g. names)"),
        ("response_format", "json | text | srt | verbose_json | vtt"),
        ("temperature", "0-1; 0 = greedy with fallback"),
        ("timestamp_granularities[]", "segment and/or word (verbose_json; word on the CPU backend)"),
    ];

    private static void Map(WebApplication app, ServiceContext<WhisperConfig> ctx)
    {
        var speech = app.Services.GetRequiredService<ModelEngine<ISpeechModel>>();
        // Decoders prepared for other options than the default keep whisper.cpp state each; an idle service gives them back.
        app.Services.GetRequiredService<IdleTrimmer>().Trimming += () => (speech.Loaded as CpuWhisperModel)?.ReleaseIdleDecoders();
        var config = ctx.Config;
        var accepted = string.Join(", ", AudioDecoder.AcceptedFormats);

        app.MapPost("/v1/audio/transcriptions", (HttpContext http, ModelEngine<ISpeechModel> engine, CancellationToken ct) =>
                HandleAsync(http, engine, config, ctx, SpeechTask.Transcribe, ct))
            .WithName("transcriptions").WithTags("audio")
            .WithSummary("Transcribe audio (OpenAI)")
            .WithDescription($"multipart/form-data with the audio in 'file' ({accepted}). Long audio is transcribed in windows with continuous timestamps.")
            .WithFileUpload("file", [], FormFields)
            .WithBodyLimit()
            .Produces<TranscriptionJson>(200).Produces<VerboseTranscription>(200).Produces<string>(200, "text/plain", "text/vtt")
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(413)
            .Produces<OpenAiErrorEnvelope>(415).Produces<OpenAiErrorEnvelope>(503);

        app.MapPost("/v1/audio/translations", (HttpContext http, ModelEngine<ISpeechModel> engine, CancellationToken ct) =>
                HandleAsync(http, engine, config, ctx, SpeechTask.Translate, ct))
            .WithName("translations").WithTags("audio")
            .WithSummary("Translate speech into English text (OpenAI)")
            .WithDescription($"multipart/form-data with the audio in 'file' ({accepted}); the answer is English whatever was spoken.")
            .WithFileUpload("file", [], FormFields)
            .WithBodyLimit()
            .Produces<TranscriptionJson>(200).Produces<VerboseTranscription>(200).Produces<string>(200, "text/plain", "text/vtt")
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(413)
            .Produces<OpenAiErrorEnvelope>(415).Produces<OpenAiErrorEnvelope>(503);

        // whisper.cpp's server route: the same form plus translate=true|false.
        app.MapPost("/inference", (HttpContext http, ModelEngine<ISpeechModel> engine, CancellationToken ct) =>
                HandleAsync(http, engine, config, ctx, null, ct))
            .WithName("inference").WithTags("audio")
            .WithSummary("Transcribe audio (whisper.cpp server's route; translate=true translates)")
            .WithFileUpload("file", [], [.. FormFields, ("translate", "true to translate into English")])
            .WithBodyLimit()
            .Produces<TranscriptionJson>(200).Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(415);

        app.MapGet("/v1/models", (ModelStore store, ServiceState state, ModelEngine<ISpeechModel> engine) =>
                TypedResults.Json(Models(store, state, engine), WhisperJson.Default.OpenAiModelList))
            .WithName("models").WithTags("audio").WithSummary("Models this service can run, their state, and the whisper-1 alias")
            .Produces<OpenAiModelList>(200);
    }

    private static readonly long s_created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static OpenAiModelList Models(ModelStore store, ServiceState state, ModelEngine<ISpeechModel> engine)
    {
        var list = ModelList.From(store, state, "speech-to-text").Data
            .Select(m => new OpenAiModel(m.Id, "model", s_created, "hailo", m.Backend, m.Status, m.Description, m.Task)).ToList();
        var active = list.First(m => m.Id == engine.Manifest.Name);
        list.Insert(0, active with { Id = "whisper-1", AliasOf = active.Id, Description = $"OpenAI's model name; answered by {active.Id}" });
        return new OpenAiModelList("list", list);
    }

    /// <summary>The form of one request, read and checked.</summary>
    internal sealed record Request(byte[] Audio, string FileName, TranscribeOptions Options, string Format, bool Segments, bool Words, string Task);

    internal static async Task<Request> ReadAsync(HttpContext http, WhisperConfig config, string activeModel, SpeechTask? task, CancellationToken ct)
    {
        // The host's reader: 415 for raw audio, 400 without a 'file' part; a body over the limit is the host's 413 naming the limit.
        var upload = await FormBody.ReadUploadAsync(http.Request, "file", "audio", "OpenAI's audio API", ct);
        string? Text(string name) => upload.Text(name);

        var model = Text("model");
        // whisper-1 is OpenAI's name; Whisper-Base was the earlier implementation's model id.
        if (model is not null && !string.Equals(model, "whisper-1", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(model, "Whisper-Base", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(model, activeModel, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(model, config.Whisper.CpuModel, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(model, config.Whisper.NpuModel, StringComparison.OrdinalIgnoreCase))
            throw new ApiException(400, "model_not_found",
                $"Unsupported model '{Hailo.Core.ClientText.Quote(model)}'. Available: whisper-1, {activeModel} (this service runs one model; whisper.cpu_model / whisper.npu_model choose it)") { Param = "model" };

        var t = task ?? (Text("translate") is { } tr && (tr.Equals("true", StringComparison.OrdinalIgnoreCase) || tr == "1") ? SpeechTask.Translate : SpeechTask.Transcribe);

        string? language = null;
        if (Text("language") is { } lang)
            language = Languages.Normalize(lang) ?? (lang.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null
                : throw ApiException.BadRequest("invalid_language", $"'{Hailo.Core.ClientText.Quote(lang)}' is not a language Whisper knows; use an ISO-639-1 code such as en, de or fr", "language"));
        else if (config.Whisper.Language.Length > 0) language = config.Whisper.Language;

        var format = (Text("response_format") ?? "json").ToLowerInvariant();
        if (!Formats.Names.Contains(format))
            throw ApiException.BadRequest("invalid_response_format", $"'response_format' must be one of {string.Join(", ", Formats.Names)}, got '{Hailo.Core.ClientText.Quote(format)}'", "response_format");

        var temperature = config.Whisper.Temperature;
        if (Text("temperature") is { } temp)
        {
            if (!double.TryParse(temp, NumberStyles.Float, CultureInfo.InvariantCulture, out temperature) || double.IsNaN(temperature) || temperature is < 0 or > 1)
                throw ApiException.BadRequest("invalid_temperature", $"'temperature' must be a number between 0 and 1, got '{Hailo.Core.ClientText.Quote(temp)}'", "temperature");
        }

        var granularities = new List<string>();
        foreach (var key in new[] { "timestamp_granularities[]", "timestamp_granularities" })
            foreach (var v in upload.Values(key))
                foreach (var part in (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    granularities.Add(part.ToLowerInvariant());
        foreach (var g in granularities)
            if (g is not ("segment" or "word"))
                throw ApiException.BadRequest("invalid_timestamp_granularities", $"'timestamp_granularities[]' takes segment and/or word, got '{g}'", "timestamp_granularities[]");
        var words = granularities.Contains("word");
        var segments = granularities.Count == 0 || granularities.Contains("segment");
        if (words && format != "verbose_json")
            throw ApiException.BadRequest("invalid_timestamp_granularities", "word timestamps need response_format=verbose_json", "timestamp_granularities[]");

        var options = new TranscribeOptions
        {
            Task = t,
            Language = language,
            Prompt = Text("prompt"),
            Temperature = (float)temperature,
            WordTimestamps = words,
        };
        return new Request(upload.File, upload.FileName, options, format, segments, words, t == SpeechTask.Translate ? "translate" : "transcribe");
    }

    internal static async Task<IResult> HandleAsync(HttpContext http, ModelEngine<ISpeechModel> engine, WhisperConfig config,
        ServiceContext<WhisperConfig> ctx, SpeechTask? task, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var request = await ReadAsync(http, config, engine.Manifest.Name, task, ct);
        // The upload is opened (its header checked: 415, 400, or 413 where it says the length) once this request has
        // its place in the model's queue, and decoded as it is transcribed, window by window: memory holds a window,
        // however long the audio. A decode error found on the way (or audio over the limit where only decoding tells)
        // is still the 4xx it always was, since nothing has been sent yet; the work done is dropped.
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        using var audio = await OpenAsync(request.Audio, config.Whisper.MaxAudioSeconds, config.Audio.Options, ct);
        var openSeconds = Stopwatch.GetElapsedTime(decodeStart).TotalSeconds;
        var transcript = await TranscribeAsync(admission, engine, audio, request.Options, config, ctx.Metrics, ct);
        var decodeSeconds = openSeconds + audio.DecodeTime.TotalSeconds;
        var total = Stopwatch.GetElapsedTime(started).TotalSeconds;

        ctx.Metrics.ObserveInference(engine.Manifest.Name, "decode_audio", decodeSeconds);
        var headers = http.Response.Headers;
        headers["X-Backend"] = engine.Backend.Name();
        headers["X-Model"] = engine.Manifest.Name;
        headers["X-Audio-Seconds"] = transcript.Duration.ToString("0.###", CultureInfo.InvariantCulture);
        headers["X-Processing-Ms"] = (total * 1000).ToString("0.#", CultureInfo.InvariantCulture);
        headers["X-Real-Time-Factor"] = (transcript.Duration > 0 ? total / transcript.Duration : 0).ToString("0.####", CultureInfo.InvariantCulture);

        return request.Format switch
        {
            "text" => TypedResults.Text(transcript.Text + "\n", "text/plain; charset=utf-8"),
            "srt" => TypedResults.Text(Formats.Srt(transcript), "text/plain; charset=utf-8"),
            "vtt" => TypedResults.Text(Formats.Vtt(transcript), "text/vtt; charset=utf-8"),
            "verbose_json" => TypedResults.Json(Formats.Verbose(transcript, request.Task, request.Segments, request.Words), WhisperJson.Default.VerboseTranscription),
            _ => TypedResults.Json(new TranscriptionJson(transcript.Text, Formats.Usage(transcript)), WhisperJson.Default.TranscriptionJson),
        };
    }

    /// <summary>Opens an upload for decoding (ffmpeg for what the built-in decoders refuse); a missing audio library is a 503 naming the package.</summary>
    internal static async Task<AudioStream> OpenAsync(byte[] bytes, double maxSeconds, FfmpegOptions ffmpeg, CancellationToken ct)
    {
        try
        {
            return await AudioDecoder.OpenAsync(bytes, maxSeconds, ffmpeg, ct);
        }
        catch (AudioUnavailableException e)
        {
            throw new ApiException(503, "audio_decoder_unavailable", $"{e.Message}") { RetryAfterSeconds = 60 };
        }
    }

    /// <summary>
    /// Transcribes 16 kHz mono samples on the engine's model, in the queue place <paramref name="admission"/> holds
    /// (Wyoming, whose audio arrives as PCM, comes here). Every window and segment counts as progress for the watchdog.
    /// </summary>
    internal static Task<Transcript> TranscribeAsync(ModelSlot<ISpeechModel>.Admission admission, ModelEngine<ISpeechModel> engine,
        float[] samples, TranscribeOptions options, WhisperConfig config, Hailo.Hosting.Metrics.ServiceMetrics metrics, CancellationToken ct) =>
        RunAsync(admission, engine, options, metrics, ct, (m, progress) => Transcriber.Run(m, samples, options, config.Whisper.WindowSeconds, ct, progress));

    /// <summary>
    /// Decodes and transcribes an upload window by window on the engine's model, in the queue place
    /// <paramref name="admission"/> holds. Every decoded block, window and segment counts as progress for the watchdog.
    /// </summary>
    internal static Task<Transcript> TranscribeAsync(ModelSlot<ISpeechModel>.Admission admission, ModelEngine<ISpeechModel> engine,
        AudioStream audio, TranscribeOptions options, WhisperConfig config, Hailo.Hosting.Metrics.ServiceMetrics metrics, CancellationToken ct) =>
        RunAsync(admission, engine, options, metrics, ct, (m, progress) => Transcriber.Run(m, audio, options, config.Whisper.WindowSeconds, ct, progress));

    private static async Task<Transcript> RunAsync(ModelSlot<ISpeechModel>.Admission admission, ModelEngine<ISpeechModel> engine,
        TranscribeOptions options, Hailo.Hosting.Metrics.ServiceMetrics metrics, CancellationToken ct, Func<ISpeechModel, Action, Transcript> run)
    {
        var transcript = await admission.RunAsync((m, work) =>
        {
            if (options.WordTimestamps && !m.SupportsWordTimestamps)
                throw ApiException.BadRequest("word_timestamps_unsupported",
                    $"the {m.Backend.Name()} backend reports segment times only (HailoRT Speech2Text has no word times); ask for timestamp_granularities[]=segment",
                    "timestamp_granularities[]");
            return run(m, work.Progress);
        }, ct);
        metrics.ObserveInference(engine.Manifest.Name, "transcribe", transcript.ModelSeconds);
        return transcript;
    }
}
