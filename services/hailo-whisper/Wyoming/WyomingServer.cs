using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Runtime;
using HailoWhisper.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HailoWhisper.Wyoming;

/// <summary>
/// The Wyoming speech-to-text server Home Assistant's Wyoming integration talks to: describe → info; transcribe
/// (language), audio-start, audio-chunk…, audio-stop → transcript. Audio within <see cref="WyomingLimits"/> (rate,
/// width, channels) is converted to 16 kHz mono; audio-stop without audio answers an empty transcript. Failures
/// answer an error event; a peer that breaks the framing or the limits, idles or is not on the allow-list is
/// answered an error event and disconnected.
/// </summary>
public sealed class WyomingServer(WhisperConfig config, WyomingLimits limits, ModelEngine<ISpeechModel> engine, ServiceMetrics metrics,
    ILogger<WyomingServer> log) : BackgroundService
{
    private TcpListener? _listener;
    private int _connections;
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
        var running = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(stoppingToken);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(() => AcceptAsync(client, stoppingToken), CancellationToken.None));
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

    /// <summary>Applies the allow-list and the connection cap, then serves the connection.</summary>
    private async Task AcceptAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        var peer = (client.Client.RemoteEndPoint as IPEndPoint)?.Address;
        if (peer is null || !limits.Allows(peer))
        {
            log.LogWarning("Wyoming: refused a connection from {Peer}: not in wyoming.allowed_clients", peer);
            await Refuse(client, "this address may not use the service (wyoming.allowed_clients)", "forbidden", ct);
            return;
        }
        if (Interlocked.Increment(ref _connections) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            log.LogWarning("Wyoming: refused a connection from {Peer}: {Max} connections are already open", peer, limits.MaxConnections);
            await Refuse(client, $"the server is busy: {limits.MaxConnections} connections are open (wyoming.max_connections); retry shortly", "busy", ct);
            return;
        }
        try
        {
            await ServeAsync(client, ct);
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private async Task Refuse(TcpClient client, string text, string code, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await TryWriteError(client.GetStream(), text, code, timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
        }
    }

    private sealed class Session
    {
        public string? Language;
        public bool Started;
        public readonly List<(int Rate, int Width, int Channels, MemoryStream Pcm)> Groups = [];
        public double Seconds;
        public long Bytes;

        public void Reset()
        {
            Groups.Clear();
            Seconds = 0;
            Bytes = 0;
        }
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
                var e = await WyomingProtocol.ReadAsync(stream, limits, ct);
                if (e is null) return;
                await HandleAsync(stream, session, e, ct);
            }
        }
        catch (WyomingProtocolException ex)
        {
            log.LogWarning("Wyoming: closing a connection: {Message}", ex.Message);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await TryWriteError(stream, ex.Message, ex.Code, timeout.Token);
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
                CheckFormat(e);
                s.Reset();
                s.Started = true;
                break;
            case "audio-chunk":
            {
                var (rate, width, channels) = CheckFormat(e);
                if (e.Payload is not { Length: > 0 } pcm) break;
                s.Bytes += pcm.Length;
                if (s.Bytes > limits.MaxSessionBytes)
                    throw new WyomingProtocolException(
                        $"the audio sent since audio-start exceeds {limits.MaxSessionBytes} bytes (wyoming.max_session_mb)", "audio_too_large");
                s.Seconds += pcm.Length / (double)(width * channels) / rate;
                if (s.Seconds > config.Whisper.MaxAudioSeconds) break; // reported at audio-stop
                if (s.Groups.Count == 0 || s.Groups[^1].Rate != rate || s.Groups[^1].Width != width || s.Groups[^1].Channels != channels)
                    s.Groups.Add((rate, width, channels, new MemoryStream()));
                s.Groups[^1].Pcm.Write(pcm);
                break;
            }
            case "audio-stop":
                await TranscribeAsync(stream, s, ct);
                s.Reset();
                s.Started = false;
                break;
            default:
                log.LogDebug("Wyoming: ignoring event {Type}", e.Type);
                break;
        }
    }

    /// <summary>The event's audio format (Wyoming's defaults where it names none); a format out of bounds ends the connection.</summary>
    private (int Rate, int Width, int Channels) CheckFormat(WyomingEvent e)
    {
        var rate = e.Int("rate") ?? 16000;
        var width = e.Int("width") ?? 2;
        var channels = e.Int("channels") ?? 1;
        if (limits.CheckFormat(rate, width, channels) is { } why)
            throw new WyomingProtocolException($"unsupported audio format: {why}", "invalid_audio");
        return (rate, width, channels);
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
                // The conversion to 16 kHz float happens once this request holds its place in the model's queue.
                using var admission = await engine.Slot.AdmitAsync(ct);
                var samples = s.Groups.SelectMany(g => AudioDecoder.FromPcm(g.Pcm.GetBuffer().AsSpan(0, (int)g.Pcm.Length), g.Rate, g.Width, g.Channels)).ToArray();
                s.Groups.Clear();
                if (samples.Length > 0)
                {
                    var t = await WhisperService.TranscribeAsync(admission, engine, samples, new TranscribeOptions
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
            catch (RequestRejectedException ex)
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
