using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace HailoPiper.Engine;

/// <summary>
/// CMU Flite's US English voices (Debian's libflite1: slt, kal, kal16, awb, rms), built into their libraries: voices
/// with no model to download. Named "flite:&lt;voice&gt;", e.g. flite:slt. Of the voices Debian ships, flite's slt
/// is the one Debian's own recogniser (pocketsphinx) understands best, which makes it the service's default (the
/// figures are in the service README). Sentences are split as espeak-ng splits them (en-us), one chunk each; speed
/// stretches flite's durations.
/// </summary>
public sealed unsafe partial class FliteVoice : IVoice
{
    public const string Prefix = "flite:";

    /// <summary>The voices libflite1 ships, each in its own library libflite_cmu_us_&lt;voice&gt;.so.1.</summary>
    public static readonly string[] Voices = ["slt", "kal", "kal16", "awb", "rms"];

    // flite keeps its state in globals and in each voice's feature list: one synthesis in the process at a time.
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, IntPtr> s_voices = [];
    private static bool s_initialised;

    private readonly IntPtr _voice;

    public string FliteName { get; }
    public string Name { get; }
    public int SampleRate { get; }
    public IReadOnlyList<string> Speakers => [];
    public IReadOnlyList<string> Languages { get; } = ["en_US"];

    /// <param name="voice">A flite voice name ("slt"), with or without the "flite:" prefix.</param>
    /// <exception cref="VoiceLoadException">libflite or the voice's library is missing, or the name is not a flite voice.</exception>
    public FliteVoice(string voice)
    {
        FliteName = voice.StartsWith(Prefix, StringComparison.Ordinal) ? voice[Prefix.Length..] : voice;
        if (Array.IndexOf(Voices, FliteName) < 0)
            throw new VoiceLoadException($"'{FliteName}' is not a flite voice (flite has {string.Join(", ", Voices)})");
        Name = Prefix + FliteName;
        lock (s_lock)
        {
            _voice = Register(FliteName);
            // The rate is the voice's own: synthesise a word once to learn it (slt, awb, rms, kal16: 16 kHz; kal: 8 kHz).
            var wave = SynthesizeLocked(_voice, "a", 1f);
            SampleRate = wave.Rate;
        }
    }

    /// <summary>Whether libflite and the voice's library can be loaded here.</summary>
    public static bool IsAvailable(string voice)
    {
        if (!NativeLibrary.TryLoad("libflite.so.1", out var flite)) return false;
        NativeLibrary.Free(flite);
        if (!NativeLibrary.TryLoad($"libflite_cmu_us_{voice}.so.1", out var lib)) return false;
        NativeLibrary.Free(lib);
        return true;
    }

    private static IntPtr Register(string name)
    {
        if (s_voices.TryGetValue(name, out var known)) return known;
        try
        {
            if (!s_initialised)
            {
                flite_init();
                s_initialised = true;
            }
        }
        catch (DllNotFoundException e)
        {
            throw new VoiceLoadException("libflite is not installed (sudo apt install libflite1)", e);
        }
        if (!NativeLibrary.TryLoad($"libflite_cmu_us_{name}.so.1", out var lib))
            throw new VoiceLoadException($"flite's voice library libflite_cmu_us_{name}.so.1 is not installed (sudo apt install libflite1)");
        if (!NativeLibrary.TryGetExport(lib, $"register_cmu_us_{name}", out var register))
            throw new VoiceLoadException($"libflite_cmu_us_{name}.so.1 has no register_cmu_us_{name}");
        var voice = ((delegate* unmanaged<byte*, IntPtr>)register)(null);
        if (voice == IntPtr.Zero) throw new VoiceLoadException($"flite could not register its voice {name}");
        s_voices[name] = voice; // registered voices live as long as the process, as flite's own programs keep them
        return voice;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">Speed not positive.</exception>
    public async IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!(options.Speed > 0) || !float.IsFinite(options.Speed))
            throw new ArgumentOutOfRangeException(nameof(options), options.Speed, "speed must be a positive number");
        var silence = VitsVoice.SilenceSamples(options.SentenceSilenceSeconds, SampleRate);
        await Task.Yield();
        foreach (var sentence in EspeakVoice.Sentences("en-us", text))
        {
            cancellationToken.ThrowIfCancellationRequested();
            (short[] Samples, int Rate) wave;
            lock (s_lock) wave = SynthesizeLocked(_voice, sentence, options.Speed);
            if (wave.Samples.Length == 0) continue;
            var chunk = new float[wave.Samples.Length + silence];
            for (var i = 0; i < wave.Samples.Length; i++) chunk[i] = wave.Samples[i] / 32768f;
            yield return chunk;
        }
    }

    private static (short[] Samples, int Rate) SynthesizeLocked(IntPtr voice, string text, float speed)
    {
        // duration_stretch: 1 is the voice's pace, 2 twice as slow.
        feat_set_float(((CstVoice*)voice)->Features, "duration_stretch"u8, 1f / speed);
        var utf8 = Encoding.UTF8.GetBytes(text + "\0");
        CstWave* wave;
        fixed (byte* p = utf8) wave = flite_text_to_wave(p, voice);
        if (wave is null) return ([], 16000);
        try
        {
            if (wave->NumChannels != 1 || wave->NumSamples <= 0 || wave->Samples is null) return ([], wave->SampleRate);
            return (new ReadOnlySpan<short>(wave->Samples, wave->NumSamples).ToArray(), wave->SampleRate);
        }
        finally
        {
            delete_wave(wave);
        }
    }

    public void Dispose() { }

    // flite 2.2's cst_voice: name, features, ffunctions, utt_init.
    [StructLayout(LayoutKind.Sequential)]
    private struct CstVoice
    {
        public IntPtr Name;
        public IntPtr Features;
    }

    // cst_wave: type, sample_rate, num_samples, num_channels, samples.
    [StructLayout(LayoutKind.Sequential)]
    private struct CstWave
    {
        public IntPtr Type;
        public int SampleRate;
        public int NumSamples;
        public int NumChannels;
        public short* Samples;
    }

    // A u8 literal is followed by a NUL in memory: a C string.
    private static void feat_set_float(IntPtr features, ReadOnlySpan<byte> name, float value)
    {
        fixed (byte* n = name) feat_set_float(features, n, value);
    }

    [LibraryImport("libflite.so.1")]
    private static partial int flite_init();

    [LibraryImport("libflite.so.1")]
    private static partial CstWave* flite_text_to_wave(byte* text, IntPtr voice);

    [LibraryImport("libflite.so.1")]
    private static partial void delete_wave(CstWave* wave);

    [LibraryImport("libflite.so.1")]
    private static partial void feat_set_float(IntPtr features, byte* name, float value);
}
