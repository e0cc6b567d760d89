using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Hailo.Audio;
using Hailo.TestSupport;
using HailoWhisper.Pipeline;
using Whisper.net;

namespace Hailo.Bench;

/// <summary>
/// hailo-whisper figures: binary size, exec → READY, idle RSS without a model, decode + resample of 60 s of MP3, and the
/// real-time factor through the HTTP API ÷ the real-time factor of Whisper.net called directly on the same audio with the
/// same model file and thread count, interleaved so both see the same machine load. The model is a random-weight ggml
/// file in whisper-base's shapes (<see cref="GgmlWhisperWriter"/>): it costs what whisper-base costs per window.
/// </summary>
public sealed class WhisperBench(string repo)
{
    private const int Threads = 2;
    private const int Rounds = 3;
    private const double Seconds = 60;
    private const string LibriVox = "/usr/share/pocketsphinx/test/data/librivox";

    public async Task<Report> RunAsync()
    {
        var binary = ServiceBench.Binary(repo, "hailo-whisper");
        // Before anything loads libgomp in this process (libsoxr links it too): the direct runs wait for work the way
        // the service's do. The service is started without the variable and must set it itself.
        CpuWhisperModel.PreferPassiveOpenMpThreads();
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Native AOT linux-x64 binary, cpu.threads={Threads}; decoding in the bench process.");
        var runtimes = Path.Combine(Path.GetDirectoryName(binary)!, "runtimes");
        var libs = Directory.Exists(runtimes) ? Directory.EnumerateFiles(runtimes, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;
        report.Add("binary size (without whisper.cpp's libraries under runtimes/)", $"{new FileInfo(binary).Length / 1e6:0.00} MB");
        report.Add("whisper.cpp's libraries (runtimes/linux-x64)", $"{libs / 1e6:0.00} MB");

        var work = Directory.CreateTempSubdirectory("whisper-bench-").FullName;
        try
        {
            var wav = Speech(work);
            Decoding(report, work, wav);

            var empty = Directory.CreateDirectory(Path.Combine(work, "empty")).FullName;
            var (readyNoModel, idleRss) = await ServiceBench.Startup(binary, Args(empty));
            report.Add("exec → READY=1 without a model (median of 5)", $"{readyNoModel:0} ms");
            report.Add("idle RSS without a model", $"{idleRss / 1048576.0:0.0} MiB", "≤ 40 MB", idleRss <= 40_000_000);

            var models = Path.Combine(work, "models");
            var modelPath = Path.Combine(models, "whisper-base", "ggml-base.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
            GgmlWhisperWriter.Write(modelPath, WhisperShape.Base, seed: 3);
            var (readyModel, _) = await ServiceBench.Startup(binary, Args(models), runs: 3);
            report.Add($"exec → READY=1 with the whisper-base-sized model loaded ({new FileInfo(modelPath).Length / 1e6:0} MB, median of 3)", $"{readyModel:0} ms");

            await RealTimeFactor(report, binary, models, modelPath, File.ReadAllBytes(wav));
            report.Note("The model is written by the test support (tests/Hailo.TestSupport/GgmlWhisperWriter.cs) with whisper-base's shapes (6 + 6 layers of width 512, F16) and random weights: it costs what whisper-base costs per 30 s window, but what it \"hears\" is arbitrary text, so the number of tokens it decodes per window is not the real model's. No registry CI reaches serves Whisper weights.");
            report.Note($"Audio: {Seconds:0} s of read speech (Debian's pocketsphinx-testdata LibriVox clips, concatenated by sox). The API gets it as a 16 kHz WAV upload (language=en, response_format=json); the direct runs give Whisper.net the same decoded samples in the same windows the service cuts (AudioWindows), with a processor built like the service's (threads, language, no other option), and both answers must be the same text. Both processes run libgomp with OMP_WAIT_POLICY=PASSIVE: the bench sets it for itself, the service (started without the variable) sets it before its first library load, as it does by default.");
            report.Note("The MP3 is that speech as ffmpeg's libmp3lame makes it at 44.1 kHz stereo 128 kb/s (a common upload); decoding is libsndfile over memory, the mono mix, and libsoxr's HQ resampling to 16 kHz.");
            report.Note("The machine is shared and noisy: compare ratios, not absolute times, across runs.");
        }
        finally
        {
            Directory.Delete(work, true);
        }
        return report;
    }

    private static string[] Args(string models) =>
        ["--port", "{port}", "--models-dir", models, "--models.search_paths", "", "--config", "/dev/null", "--threads", Threads.ToString(), "--device", "cpu"];

    /// <summary>60 s of read speech as a 16 kHz mono WAV: the LibriVox clips, repeated as needed.</summary>
    private static string Speech(string dir)
    {
        var clips = Directory.GetFiles(LibriVox, "*.wav").Order(StringComparer.Ordinal).ToArray();
        if (clips.Length == 0) throw new InvalidOperationException($"no speech in {LibriVox} (install pocketsphinx-testdata)");
        var path = Path.Combine(dir, "speech.wav");
        Tool("sox", [.. Enumerable.Repeat(clips, 4).SelectMany(c => c), "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", Seconds.ToString("0")]);
        return path;
    }

    private static void Decoding(Report report, string dir, string wav)
    {
        var mp3 = Path.Combine(dir, "speech.mp3");
        Tool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", wav, "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-y", mp3]);
        var bytes = File.ReadAllBytes(mp3);
        DecodedAudio? decoded = null;
        var times = ServiceBench.Time(20, () => decoded = AudioDecoder.Decode(bytes, 3600), warmup: 3);
        var seconds = decoded!.Samples.Length / 16000.0;
        if (Math.Abs(seconds - Seconds) > 0.5) throw new InvalidOperationException($"the MP3 decoded to {seconds:0.00} s");
        report.Add($"decode + resample of {Seconds:0} s of MP3 (44.1 kHz stereo, 128 kb/s, {bytes.Length / 1024} KiB) to 16 kHz mono, p50 of 20",
            $"{Stats.Median(times):0.0} ms", "≤ 100 ms", Stats.Median(times) <= 100);
        var mono44 = new float[(int)(Seconds * 44100)];
        var rng = new Random(2);
        for (var i = 0; i < mono44.Length; i++) mono44[i] = (rng.NextSingle() - 0.5f) * 0.5f;
        var resample = ServiceBench.Time(20, () => AudioDecoder.Resample(mono44, 44100), warmup: 3);
        report.Add($"  of which resampling {Seconds:0} s of 44.1 kHz mono to 16 kHz (libsoxr HQ), p50 of 20", $"{Stats.Median(resample):0.0} ms");
        var wavBytes = File.ReadAllBytes(wav);
        var wavTimes = ServiceBench.Time(20, () => AudioDecoder.Decode(wavBytes, 3600), warmup: 3);
        report.Add($"the same speech as a 16 kHz mono WAV ({wavBytes.Length / 1024} KiB), p50 of 20", $"{Stats.Median(wavTimes):0.0} ms");
    }

    private static async Task RealTimeFactor(Report report, string binary, string models, string modelPath, byte[] wav)
    {
        var samples = AudioDecoder.Decode(wav, 3600).Samples;
        var windows = AudioWindows.Split(samples, 30);
        var duration = samples.Length / 16000.0;

        await using var p = ServiceProcess.Start(binary, Args(models), new Dictionary<string, string?> { ["OMP_WAIT_POLICY"] = null });
        await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2));
        var rssLoaded = Stats.Rss(p.Pid);

        using var factory = WhisperFactory.FromPath(modelPath);
        var direct = new List<string>();
        using var processor = factory.CreateBuilder().WithThreads(Threads).WithLanguage("en").WithSegmentEventHandler(s => direct.Add(s.Text)).Build();
        string Direct()
        {
            direct.Clear();
            foreach (var (start, length) in windows) processor.Process(samples.AsSpan(start, length));
            return string.Join(" ", direct.Select(t => t.Trim()).Where(t => t.Length > 0));
        }

        var api = new List<double>();
        var inside = new List<double>();
        var model = new List<double>();
        var apiText = "";
        var directText = "";
        for (var round = 0; round <= Rounds; round++)
        {
            var sw = Stopwatch.StartNew();
            var (text, processingMs) = await Transcribe(p.Client, wav);
            var apiSeconds = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var d = Direct();
            var directSeconds = sw.Elapsed.TotalSeconds;
            if (round == 0) { apiText = text; directText = d; continue; } // warm-up
            if (text != apiText || d != directText) throw new InvalidOperationException("the same audio gave different text on a later run");
            api.Add(apiSeconds / duration);
            inside.Add(processingMs / 1000 / duration);
            model.Add(directSeconds / duration);
        }
        var rssAfter = Stats.Rss(p.Pid);
        var peak = Hwm(p.Pid);
        if (apiText != directText)
            throw new InvalidOperationException($"the API and Whisper.net made different text of the same audio:\n{apiText}\n---\n{directText}");

        var ratio = Stats.Median(api) / Stats.Median(model);
        report.Add($"real-time factor through the HTTP API, {duration:0} s of speech in {windows.Count} windows (median of {Rounds})", $"{Stats.Median(api):0.000}");
        report.Add("  the same inside the service (X-Processing-Ms: form, decode, windows, model, formatting)", $"{Stats.Median(inside):0.000}");
        report.Add("  Whisper.net called directly on the same samples, windows, model and threads", $"{Stats.Median(model):0.000}");
        report.Add("  API ÷ direct", $"{ratio:0.000}", "≤ 1.05", ratio <= 1.05);
        report.Add($"  text decoded per run (random weights)", $"{apiText.Length} characters");
        report.Add("RSS of the service with the whisper-base-sized model loaded / after the requests / peak (VmHWM)",
            $"{rssLoaded / 1048576.0:0.0} / {rssAfter / 1048576.0:0.0} / {peak / 1048576.0:0.0} MiB");
    }

    private static async Task<(string Text, double ProcessingMs)> Transcribe(HttpClient client, byte[] wav)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(wav);
        file.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(file, "file", "speech.wav");
        form.Add(new StringContent("whisper-1"), "model");
        form.Add(new StringContent("en"), "language");
        using var r = await client.PostAsync("/v1/audio/transcriptions", form);
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(body);
        var ms = double.Parse(r.Headers.GetValues("X-Processing-Ms").First(), System.Globalization.CultureInfo.InvariantCulture);
        return (JsonDocument.Parse(body).RootElement.GetProperty("text").GetString() ?? "", ms);
    }

    /// <summary>Peak resident set size of a process in bytes (VmHWM).</summary>
    private static long Hwm(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    private static void Tool(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + tool);
        var err = proc.StandardError.ReadToEndAsync();
        _ = proc.StandardOutput.ReadToEndAsync();
        proc.WaitForExit();
        if (proc.ExitCode != 0) throw new InvalidOperationException($"{tool} failed ({proc.ExitCode}): {err.Result}");
    }
}
