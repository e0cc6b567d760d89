using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hailo.Audio;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Runtime;
using HailoWhisper.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HailoWhisper.Wyoming;

/// <summary>
/// The Wyoming speech-to-text server Home Assistant's Wyoming integration talks to: describe → info; transcribe
/// (language), audio-start, audio-chunk…, audio-stop → transcript. Audio of any rate, width and channel count is
/// converted to 16 kHz mono; audio-stop without audio answers an empty transcript. Failures answer an error event.
/// </summary>
public sealed class WyomingServer(WhisperConfig config, ModelEngine<ISpeechModel> engine, ServiceMetrics metrics, ILogger<WyomingServer> log)
    : BackgroundService
{
    private TcpListener? _listener;
    private readonly TaskCompletionSource<int> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The port actually listened on (useful with port 0 in tests).</summary>
    public Task<int> Port => _bound.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var w = config.Wyoming;
        try
        {
            _listener = new TcpListener(IPAddress.Parse(w.Host), w.Port);
            _listener.Start();
        }
        catch (SocketException e)
        {
            log.LogError("Wyoming: cannot listen on {Host}:{Port}: {Message}", w.Host, w.Port, e.Message);
            _bound.TrySetException(e);
            return;
        }
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _bound.TrySetResult(port);
        log.LogInformation("Wyoming speech-to-text on {Host}:{Port}", w.Host, port);
        using var gate = new SemaphoreSlim(w.MaxConnections, w.MaxConnections);
        var running = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await gate.WaitAsync(stoppingToken);
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(stoppingToken);
                }
                catch
                {
                    gate.Release();
                    throw;
                }
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try { await ServeAsync(client, stoppingToken); }
                    finally { gate.Release(); }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _listener.Stop();
            await Task.WhenAll(running);
        }
    }

    private sealed class Session
    {
        public string? Language;
        public bool Started;
        public readonly List<(int Rate, int Width, int Channels, MemoryStream Pcm)> Groups = [];
        public double Seconds;
    }

    internal async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        client.NoDelay = true;
        var stream = client.GetStream();
        var session = new Session();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var e = await WyomingProtocol.ReadAsync(stream, ct);
                if (e is null) return;
                await HandleAsync(stream, session, e, ct);
            }
        }
        catch (WyomingProtocolException ex)
        {
            log.LogWarning("Wyoming: closing a connection: {Message}", ex.Message);
            await TryWriteError(stream, ex.Message, "protocol_error", ct);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or ObjectDisposedException)
        {
            log.LogDebug("Wyoming: connection ended: {Message}", ex.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task TryWriteError(Stream stream, string text, string code, CancellationToken ct)
    {
        try
        {
            await WyomingProtocol.WriteAsync(stream, "error", w => { w.WriteString("text", text); w.WriteString("code", code); }, null, ct);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task HandleAsync(Stream stream, Session s, WyomingEvent e, CancellationToken ct)
    {
        switch (e.Type)
        {
            case "describe":
                await WyomingProtocol.WriteAsync(stream, "info", WriteInfo, null, ct);
                break;
            case "ping":
                await WyomingProtocol.WriteAsync(stream, "pong", e.String("text") is { } t ? w => w.WriteString("text", t) : null, null, ct);
                break;
            case "transcribe":
                s.Language = Languages.Normalize(e.String("language"));
                break;
            case "audio-start":
                s.Groups.Clear();
                s.Seconds = 0;
                s.Started = true;
                break;
            case "audio-chunk":
            {
                if (e.Payload is not { Length: > 0 } pcm) break;
                var rate = e.Int("rate") ?? 16000;
                var width = e.Int("width") ?? 2;
                var channels = e.Int("channels") ?? 1;
                if (rate is < 1000 or > 768_000 || width is < 1 or > 4 || channels is < 1 or > 64)
                {
                    await TryWriteError(stream, $"unsupported audio: rate {rate}, width {width}, channels {channels}", "invalid_audio", ct);
                    break;
                }
                s.Seconds += pcm.Length / (double)(width * channels) / rate;
                if (s.Seconds > config.Whisper.MaxAudioSeconds) break; // reported at audio-stop
                if (s.Groups.Count == 0 || s.Groups[^1].Rate != rate || s.Groups[^1].Width != width || s.Groups[^1].Channels != channels)
                    s.Groups.Add((rate, width, channels, new MemoryStream()));
                s.Groups[^1].Pcm.Write(pcm);
                break;
            }
            case "audio-stop":
                await TranscribeAsync(stream, s, ct);
                s.Groups.Clear();
                s.Seconds = 0;
                s.Started = false;
                break;
            default:
                log.LogDebug("Wyoming: ignoring event {Type}", e.Type);
                break;
        }
    }

    private async Task TranscribeAsync(Stream stream, Session s, CancellationToken ct)
    {
        if (s.Seconds > config.Whisper.MaxAudioSeconds)
        {
            await TryWriteError(stream, $"the audio is {s.Seconds:0.#} s long; this service accepts at most {config.Whisper.MaxAudioSeconds:0.#} s", "audio_too_long", ct);
            return;
        }
        string text = "";
        string? language = s.Language;
        if (s.Groups.Count > 0)
        {
            try
            {
                var samples = s.Groups.SelectMany(g => AudioDecoder.FromPcm(g.Pcm.GetBuffer().AsSpan(0, (int)g.Pcm.Length), g.Rate, g.Width, g.Channels)).ToArray();
                if (samples.Length > 0)
                {
                    var t = await WhisperService.TranscribeAsync(engine, samples, new TranscribeOptions
                    {
                        Language = s.Language ?? (config.Whisper.Language.Length > 0 ? config.Whisper.Language : null),
                        Temperature = (float)config.Whisper.Temperature,
                    }, config, metrics, ct);
                    text = t.Text;
                    language = t.Language ?? language;
                }
            }
            catch (ApiException ex)
            {
                await TryWriteError(stream, ex.Message, ex.Code, ct);
                return;
            }
            catch (AudioUnavailableException ex)
            {
                await TryWriteError(stream, ex.Message, "audio_decoder_unavailable", ct);
                return;
            }
        }
        await WyomingProtocol.WriteAsync(stream, "transcript", w =>
        {
            w.WriteString("text", text);
            if (language is not null) w.WriteString("language", language);
        }, null, ct);
    }

    private void WriteInfo(Utf8JsonWriter w)
    {
        var version = WhisperService.Definition.Version;
        var model = engine.Manifest;
        w.WriteStartArray("asr");
        w.WriteStartObject();
        w.WriteString("name", "hailo-whisper");
        WriteAttribution(w);
        w.WriteBoolean("installed", true);
        w.WriteString("description", $"Whisper speech to text on the {engine.Backend.ToUpperInvariant()} ({model.Name})");
        w.WriteString("version", version);
        w.WriteStartArray("models");
        w.WriteStartObject();
        w.WriteString("name", model.Name);
        WriteAttribution(w);
        w.WriteBoolean("installed", true);
        w.WriteString("description", model.Description);
        w.WriteString("version", version);
        w.WriteStartArray("languages");
        var languages = model.Name.EndsWith(".en", StringComparison.Ordinal) ? ["en"] : Languages.Codes;
        foreach (var l in languages) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("supports_transcript_streaming", false);
        w.WriteEndObject();
        w.WriteEndArray();
        foreach (var empty in new[] { "tts", "handle", "intent", "wake", "mic", "snd" })
        {
            w.WriteStartArray(empty);
            w.WriteEndArray();
        }
    }

    private static void WriteAttribution(Utf8JsonWriter w)
    {
        w.WriteStartObject("attribution");
        w.WriteString("name", "OpenAI Whisper");
        w.WriteString("url", "https://github.com/openai/whisper");
        w.WriteEndObject();
    }
}
