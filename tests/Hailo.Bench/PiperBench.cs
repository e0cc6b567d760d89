using System.Diagnostics;
using System.Text;
using Hailo.TestSupport;
using HailoPiper.Engine;

namespace Hailo.Bench;

/// <summary>
/// hailo-piper figures: binary size, exec → READY and idle RSS with the built-in default voice, and for the default
/// voice (flite:slt) and a generated VITS model of en_US-lessac-medium's size: the real-time factor and the time to
/// the first audio byte through the HTTP API, against the same voice class called directly in this process on the same
/// text (interleaved rounds, medians), and the service's RSS with the voice loaded.
/// </summary>
public sealed class PiperBench(string repo)
{
    private const int Rounds = 5;
    private const string Text =
        "The quick brown fox jumps over the lazy dog. Home Assistant asked for the weather, and the answer came back in a moment. " +
        "It will be sunny this afternoon, with a light breeze from the west. Tomorrow brings clouds and some rain in the evening. " +
        "Remember to take an umbrella when you leave the house. The kitchen lights are on, and the front door is locked. " +
        "Your timer for ten minutes has started. Good night, and sleep well.";

    public async Task<Report> RunAsync()
    {
        var binary = ServiceBench.Binary(repo, "hailo-piper");
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Native AOT linux-x64 binary, cpu.threads=1.");
        report.Add("binary size", $"{new FileInfo(binary).Length / 1e6:0.00} MB");
        var work = Directory.CreateTempSubdirectory("piper-bench-").FullName;
        try
        {
            var (ready, idle) = await ServiceBench.Startup(binary, Args(work));
            report.Add("exec → READY=1 with the default voice (flite:slt) loaded (median of 5)", $"{ready:0} ms");
            report.Add("idle RSS with the default voice loaded", $"{idle / 1048576.0:0.0} MiB", "≤ 35 MB", idle <= 35_000_000);

            await Compare(report, binary, work, "flite:slt", () => new FliteVoice("slt"), computes: true);

            // A generated model of a medium voice's size (63 MB): what loading and holding one costs; its compute is a
            // few tensor operations, so its real-time factor says nothing of a real VITS model's.
            var vits = PiperTestVoice.Write(Path.Combine(work, "lessac_size"), "lessac_size", extraWeightBytes: 63_000_000);
            await Compare(report, binary, work, "lessac_size", () => new VitsVoice(vits, threads: 1), computes: false, "--piper.default_voice", "lessac_size");
            report.Note("flite:slt is CMU Flite's voice from Debian's libflite1 (the service's default). lessac_size is a generated VITS-shaped ONNX model (tests/Hailo.TestSupport/PiperTestVoice.cs) padded to en_US-lessac-medium's 63 MB: it shows the cost of loading, phonemising (espeak-ng) and serving a medium-sized voice, not the synthesis time of a real one (no Piper voice is reachable from CI).");
            report.Note($"Text: {Text.Length} characters in 8 sentences; the API gets it as /v1/audio/speech with response_format wav; the direct runs call the same voice class on the same text with the same options. Time to first byte: from sending the request to the first byte of audio (the first sentence) arriving.");
            report.Note("The machine is shared and noisy: compare ratios, not absolute times, across runs.");
        }
        finally
        {
            Directory.Delete(work, true);
        }
        return report;
    }

    private static string[] Args(string models, params string[] extra) =>
        ["--port", "{port}", "--models-dir", models, "--models.search_paths", "", "--config", "/dev/null", "--threads", "1", .. extra];

    private static async Task Compare(Report report, string binary, string models, string voice, Func<IVoice> direct, bool computes, params string[] extra)
    {
        await using var p = ServiceProcess.Start(binary, Args(models, extra));
        await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2));
        var client = p.Client;
        using var engine = direct();
        var api = new List<double>();
        var first = new List<double>();
        var local = new List<double>();
        var localFirst = new List<double>();
        double seconds = 0;
        for (var round = 0; round <= Rounds; round++) // round 0 warms both up
        {
            var (total, ttfb, bytes) = await Speak(client, voice);
            var start = Stopwatch.GetTimestamp();
            double firstChunk = 0;
            long samples = 0;
            await foreach (var chunk in engine.SynthesizeAsync(Text, new SynthesisOptions(), CancellationToken.None))
            {
                if (samples == 0) firstChunk = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                samples += chunk.Length;
            }
            var directMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (round == 0) continue;
            api.Add(total);
            first.Add(ttfb);
            local.Add(directMs);
            localFirst.Add(firstChunk);
            seconds = samples / (double)engine.SampleRate;
            if (Math.Abs((bytes - 44) / 2.0 - samples) > samples * 0.01)
                throw new InvalidOperationException($"{voice}: the API spoke {(bytes - 44) / 2} samples, the voice directly {samples}");
        }
        var rss = Stats.Rss(p.Pid);
        report.Add($"{voice}: audio for the text", $"{seconds:0.0} s at {engine.SampleRate} Hz");
        report.Add($"{voice}: real-time factor through the API (median of {Rounds})", $"{Stats.Median(api) / 1000 / seconds:0.000}");
        report.Add($"{voice}: real-time factor of the voice called directly", $"{Stats.Median(local) / 1000 / seconds:0.000}");
        var ratio = Stats.Median(api) / Stats.Median(local);
        if (computes) report.Add($"{voice}: API ÷ direct (whole text)", $"{ratio:0.00}", "≤ 1.05", ratio <= 1.05);
        // A model that does no real work makes any ratio the HTTP round trip's: give the overhead itself.
        else report.Add($"{voice}: API − direct (whole text; the model computes next to nothing)", $"{Stats.Median(api) - Stats.Median(local):0.0} ms (ratio {ratio:0.00})");
        report.Add($"{voice}: time to the first audio byte through the API", $"{Stats.Median(first):0} ms (direct: first sentence in {Stats.Median(localFirst):0} ms)");
        report.Add($"{voice}: service RSS with the voice loaded, after the runs", $"{rss / 1048576.0:0.0} MiB");
    }

    private static async Task<(double TotalMs, double FirstByteMs, long Bytes)> Speak(HttpClient client, string voice)
    {
        var body = $$"""{"input":"{{Text}}","voice":"{{voice}}","response_format":"wav"}""";
        var start = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/speech") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var r = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{voice}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        await using var stream = await r.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        long bytes = 0;
        double firstByte = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0) break;
            // The WAV header goes out with the first sentence's audio: the first read past the header is audio.
            if (firstByte == 0 && bytes + n > 44) firstByte = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            bytes += n;
        }
        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, firstByte, bytes);
    }
}
