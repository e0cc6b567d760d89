using System.Runtime.CompilerServices;
using Hailo.Runtime.Onnx;

namespace HailoPiper.Engine;

/// <summary>
/// A Piper VITS voice: its <c>.onnx</c> model on ONNX Runtime and its <c>.onnx.json</c> config. Inputs as Piper
/// feeds them: <c>input</c> int64 [1, n] phoneme ids, <c>input_lengths</c> int64 [1], <c>scales</c> float [3] =
/// noise scale, length scale ÷ speed, noise width, and <c>sid</c> int64 [1] for multi-speaker voices. Each
/// sentence's audio is peak-normalised and clipped to [-1, 1] as Piper does, then followed by the silence asked for.
/// </summary>
public sealed class VitsVoice : IVoice
{
    private const string InputIds = "input", InputLengths = "input_lengths", InputScales = "scales", InputSpeaker = "sid";

    private readonly OnnxModel _model;
    private readonly string _outputName;
    private readonly bool _multiSpeaker;

    public string Name { get; }
    public int SampleRate => Config.SampleRate;
    public IReadOnlyList<string> Speakers { get; }
    public IReadOnlyList<string> Languages { get; }
    public PiperVoiceConfig Config { get; }
    public PiperPhonemizer Phonemizer { get; }

    /// <summary>Loads a voice; its config is <paramref name="modelPath"/> + ".json" unless given.</summary>
    /// <param name="name">The voice's name; the model's file name without ".onnx" when null.</param>
    /// <param name="threads">ONNX Runtime intra-op threads.</param>
    /// <exception cref="VoiceLoadException">A file is missing or malformed, the model lacks Piper's inputs, or
    /// espeak-ng lacks the voice's espeak voice.</exception>
    public VitsVoice(string modelPath, string? configPath = null, string? name = null, int threads = 1)
    {
        configPath ??= modelPath + ".json";
        Name = name ?? StripSuffix(Path.GetFileName(modelPath), ".onnx");
        Config = PiperVoiceConfig.Load(configPath);
        if (Config.EffectivePhonemeType == "espeak") Espeak.CheckVoice(Config.EspeakVoice);
        if (!File.Exists(modelPath)) throw new VoiceLoadException($"voice model {Path.GetFileName(modelPath)} does not exist");
        try
        {
            _model = new OnnxModel(modelPath, threads);
        }
        catch (InvalidDataException e)
        {
            throw new VoiceLoadException(e.Message, e);
        }
        try
        {
            foreach (var required in new[] { InputIds, InputLengths, InputScales })
                if (!_model.InputNames.Contains(required))
                    throw new VoiceLoadException($"{Path.GetFileName(modelPath)} is not a Piper voice: it has no '{required}' input");
            if (_model.OutputNames.Count == 0) throw new VoiceLoadException($"{Path.GetFileName(modelPath)} has no output");
            _outputName = _model.OutputNames[0];
            _multiSpeaker = Config.NumSpeakers > 1;
            if (_multiSpeaker && !_model.InputNames.Contains(InputSpeaker))
                throw new VoiceLoadException($"{Path.GetFileName(modelPath)}: the config has {Config.NumSpeakers} speakers but the model no 'sid' input");
        }
        catch
        {
            _model.Dispose();
            throw;
        }
        Phonemizer = new PiperPhonemizer(Config);
        Speakers = Config.SpeakerNames();
        Languages = Config.Languages();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">Speed not positive, or a speaker id the voice does not have.</exception>
    public async IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!(options.Speed > 0) || !float.IsFinite(options.Speed))
            throw new ArgumentOutOfRangeException(nameof(options), options.Speed, "speed must be a positive number");
        var speaker = options.SpeakerId ?? 0;
        if (speaker < 0 || speaker >= Math.Max(1, Config.NumSpeakers))
            throw new ArgumentOutOfRangeException(nameof(options), speaker, $"voice {Name} has no speaker {speaker}");
        var scales = new[]
        {
            options.NoiseScale ?? Config.NoiseScale,
            Config.LengthScale / options.Speed,
            options.NoiseW ?? Config.NoiseW,
        };
        var silence = SilenceSamples(options.SentenceSilenceSeconds, SampleRate);

        await Task.Yield();
        var sentences = Phonemizer.Phonemize(text);
        foreach (var phonemes in sentences)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = Phonemizer.ToIds(phonemes);
            yield return Infer(ids, scales, speaker, silence);
        }
    }

    /// <summary>Runs the model on one sentence's ids; the audio (normalised, clipped) followed by
    /// <paramref name="silence"/> zero samples.</summary>
    public float[] Infer(long[] ids, float[] scales, int speaker, int silence)
    {
        var inputs = new List<OnnxInput>(4)
        {
            OnnxInput.Int64(InputIds, ids, [1, ids.Length]),
            OnnxInput.Int64(InputLengths, [ids.Length], [1]),
            OnnxInput.Float(InputScales, scales, [3]),
        };
        if (_multiSpeaker) inputs.Add(OnnxInput.Int64(InputSpeaker, [speaker], [1]));
        var audio = _model.Run(inputs, [_outputName])[0].Data;
        var result = new float[audio.Length + silence];
        var peak = 0f;
        foreach (var s in audio)
            if (float.IsFinite(s)) peak = Math.Max(peak, Math.Abs(s));
        if (peak >= 1e-8f)
        {
            var gain = 1f / peak;
            for (var i = 0; i < audio.Length; i++)
                result[i] = float.IsFinite(audio[i]) ? Math.Clamp(audio[i] * gain, -1f, 1f) : 0f;
        }
        return result;
    }

    internal static int SilenceSamples(float seconds, int rate) =>
        float.IsFinite(seconds) && seconds > 0 ? (int)Math.Min(seconds * rate, rate * 10f) : 0;

    private static string StripSuffix(string s, string suffix) =>
        s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) ? s[..^suffix.Length] : s;

    public void Dispose() => _model.Dispose();
}
