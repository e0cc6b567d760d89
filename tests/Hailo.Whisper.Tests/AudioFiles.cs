using System.Diagnostics;

namespace Hailo.Whisper.Tests;

/// <summary>Test audio made on the spot by the tools Debian ships (sox, ffmpeg, flac, espeak-ng), cached per run.</summary>
public static class AudioFiles
{
    private static readonly string Dir = Directory.CreateTempSubdirectory("hailo-whisper-audio-").FullName;
    private static readonly Lock Gate = new();

    /// <summary>Debian pocketsphinx-testdata: real read speech (LibriVox, 16 kHz mono 16-bit WAV).</summary>
    public const string LibriVoxDir = "/usr/share/pocketsphinx/test/data/librivox";

    public static string LibriVox(string name = "sense_and_sensibility_01_austen_64kb-0870.wav") => Path.Combine(LibriVoxDir, name);

    /// <summary>Runs a tool and returns the file it made (cached by name).</summary>
    public static string Make(string name, string tool, params string[] args)
    {
        var path = Path.Combine(Dir, name);
        lock (Gate)
        {
            if (File.Exists(path)) return path;
            Run(tool, args.Select(a => a.Replace("{out}", path, StringComparison.Ordinal)).ToArray());
            if (!File.Exists(path)) throw new InvalidOperationException($"{tool} made no {name}");
            return path;
        }
    }

    public static void Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + tool);
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Result}");
    }

    /// <summary>A 440 Hz sine of <paramref name="seconds"/> at 0.5 amplitude via sox, in the given file type and encoding.</summary>
    public static string Sine(string ext, int rate = 44100, int channels = 1, double seconds = 2, params string[] format) =>
        Make($"sine-{rate}-{channels}-{seconds}-{string.Join("_", format)}.{ext}", "sox",
            ["-n", "-r", rate.ToString(), "-c", channels.ToString(), .. format, "{out}", "synth", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "sine", "440", "vol", "0.5"]);

    /// <summary>sox's 48 kHz stereo sine encoded by ffmpeg (for codecs sox may lack, e.g. Opus).</summary>
    public static string Ffmpeg(string name, params string[] codec) =>
        Make(name, "ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", Sine("wav", 48000, 2, 2, "-b", "16"), .. codec, "-y", "{out}"]);

    /// <summary>espeak-ng speaking <paramref name="text"/> (22.05 kHz mono WAV).</summary>
    public static string Speech(string name, string text) => Make(name, "espeak-ng", ["-w", "{out}", text]);

    public static byte[] Bytes(string path) => File.ReadAllBytes(path);

    /// <summary>
    /// Asserts <paramref name="audio"/> is the test sine (<see cref="Sine"/>: 2 s, 440 Hz, amplitude 0.5) at 16 kHz:
    /// its length, its pitch from the zero crossings of the middle second (880 per second), its RMS level (0.354).
    /// </summary>
    public static void AssertIsTheSine(Hailo.Audio.DecodedAudio audio, string what)
    {
        Xunit.Assert.InRange(audio.Seconds, 1.95, 2.1);
        var mid = audio.Samples.AsSpan(Hailo.Audio.AudioDecoder.TargetRate / 2, Hailo.Audio.AudioDecoder.TargetRate);
        var crossings = 0;
        for (var i = 1; i < mid.Length; i++) if ((mid[i - 1] < 0) != (mid[i] < 0)) crossings++;
        Xunit.Assert.InRange(crossings, 870, 890);
        var rms = Math.Sqrt(mid.ToArray().Average(x => x * (double)x));
        Xunit.Assert.True(Math.Abs(rms - 0.3536) < 0.03, $"{what}: RMS {rms:0.000}");
    }
}
