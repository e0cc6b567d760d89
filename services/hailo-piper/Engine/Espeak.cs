using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace HailoPiper.Engine;

/// <summary>One clause as espeak-ng splits text: its text, its IPA phonemes, the punctuation that ended it and
/// whether that punctuation ends a sentence.</summary>
public sealed record EspeakClause(string Text, string Phonemes, char? Terminator, bool EndsSentence);

/// <summary>
/// libespeak-ng (Debian's libespeak-ng1 and espeak-ng-data) for phonemisation and synthesis. The library keeps one
/// global state (voice, parameters, callback) and is not thread safe: every call runs under one process-wide lock.
/// </summary>
public static unsafe partial class Espeak
{
    private const string Library = "libespeak-ng.so.1";
    private const int AudioOutputSynchronous = 2;
    private const int InitializeDontExit = 0x8000;
    private const int CharsUtf8 = 1;
    private const int PhonemesIpa = 0x02;
    private const int PositionCharacter = 1;
    private const int ParameterRate = 1;

    /// <summary>espeak-ng's words per minute at speed 1, and the range it speaks: 80 is its floor; above 450 Debian's
    /// build speeds up with libsonic, and 700 is 4 × 175.</summary>
    public const int DefaultRate = 175, MinRate = 80, MaxRate = 700;

    private static readonly Lock Gate = new();
    private static int _sampleRate;
    private static string? _initError;
    private static string? _currentVoice;
    // Where the synthesis callback appends samples; only touched under Gate.
    private static List<short>? _sink;
    private static CancellationToken _sinkCancel;

    /// <summary>espeak-ng's output rate (22050 Hz with Debian's data).</summary>
    public static int SampleRate
    {
        get
        {
            lock (Gate)
            {
                EnsureInitialized();
                return _sampleRate;
            }
        }
    }

    /// <summary>Splits text into clauses with espeak-ng's own rules and phonemises each in IPA (what
    /// <c>espeak-ng -q --ipa -v VOICE</c> prints, one clause per line).</summary>
    /// <exception cref="VoiceLoadException">libespeak-ng is missing or the voice is unknown.</exception>
    public static IReadOnlyList<EspeakClause> Clauses(string voice, string text)
    {
        var clauses = new List<EspeakClause>();
        var bytes = Utf8WithTerminator(text);
        lock (Gate)
        {
            SetVoice(voice);
            fixed (byte* start = bytes)
            {
                var end = start + bytes.Length - 1;
                void* position = start;
                // espeak-ng reads one character past a clause and keeps it for the next one: the text pointer it
                // returns is one code point ahead, so that code point is moved to the next clause's text.
                var carry = "";
                // Until espeak-ng returns null: at the end of the text it may still hold the read-ahead character.
                for (var guard = 0; position != null && guard <= bytes.Length + 1; guard++)
                {
                    var before = (byte*)position;
                    var phonemes = Native.espeak_TextToPhonemes(&position, CharsUtf8, PhonemesIpa);
                    var after = position == null || (byte*)position > end ? end : (byte*)position;
                    var consumed = carry + (after > before ? Encoding.UTF8.GetString(before, (int)(after - before)) : "");
                    carry = "";
                    if (position != null && consumed.Length > 0)
                    {
                        var last = char.IsLowSurrogate(consumed[^1]) && consumed.Length > 1 ? 2 : 1;
                        carry = consumed[^last..];
                        consumed = consumed[..^last];
                    }
                    var ipa = phonemes == null ? "" : Marshal.PtrToStringUTF8((nint)phonemes) ?? "";
                    var (terminator, endsSentence) = TerminatorOf(consumed);
                    clauses.Add(new EspeakClause(consumed, ipa.Trim(), terminator, endsSentence || position == null));
                }
            }
        }
        return clauses;
    }

    /// <summary>Synthesises text with an espeak-ng voice at a rate in words per minute; 16-bit samples at
    /// <see cref="SampleRate"/>. Cancellation stops the synthesis at the next block of samples.</summary>
    /// <exception cref="VoiceLoadException">libespeak-ng is missing or the voice is unknown.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static short[] Synthesize(string voice, string text, int rate, CancellationToken cancellationToken)
    {
        var bytes = Utf8WithTerminator(text);
        var samples = new List<short>((int)Math.Min(bytes.Length * 1000L, 1 << 20));
        lock (Gate)
        {
            SetVoice(voice);
            Native.espeak_SetParameter(ParameterRate, Math.Clamp(rate, MinRate, MaxRate), 0);
            _sink = samples;
            _sinkCancel = cancellationToken;
            try
            {
                fixed (byte* p = bytes)
                {
                    var status = Native.espeak_Synth(p, (nuint)bytes.Length, 0, PositionCharacter, 0, CharsUtf8, null, null);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (status != 0) throw new InvalidOperationException($"espeak-ng could not synthesise the text (error {status})");
                }
            }
            finally
            {
                _sink = null;
                _sinkCancel = default;
            }
        }
        return samples.ToArray();
    }

    /// <summary>Checks that libespeak-ng loads and knows the voice.</summary>
    /// <exception cref="VoiceLoadException">libespeak-ng is missing or the voice is unknown.</exception>
    public static void CheckVoice(string voice)
    {
        lock (Gate) SetVoice(voice);
    }

    // The punctuation espeak-ng ended the clause on (the last non-space character of its text) and whether that
    // ends a sentence, as espeak-ng's clause types do: . ? ! end sentences, , : ; clauses; an ellipsis is a pause
    // within the sentence; a blank line (paragraph) ends a sentence without punctuation.
    private static (char? Terminator, bool EndsSentence) TerminatorOf(string clauseText)
    {
        var trimmed = clauseText.AsSpan().TrimEnd();
        if (trimmed.IsEmpty) return (null, false);
        var paragraph = clauseText.AsSpan(trimmed.Length).Count('\n') >= 2;
        if (trimmed.EndsWith("...") || trimmed[^1] == '\u2026') return (';', paragraph);
        char? terminator = trimmed[^1] switch
        {
            '.' or '\u3002' or '\u0964' => '.',
            '?' or '\uFF1F' or '\u061F' => '?',
            '!' or '\uFF01' => '!',
            ',' or '\uFF0C' or '\u3001' or '\u060C' => ',',
            ':' or '\uFF1A' => ':',
            ';' or '\uFF1B' => ';',
            _ => null,
        };
        return (terminator, terminator is '.' or '?' or '!' || paragraph);
    }

    private static byte[] Utf8WithTerminator(string text)
    {
        // A NUL would end the C string early; espeak-ng reads it as the end of the text.
        var clean = text.Replace('\0', ' ');
        var bytes = new byte[Encoding.UTF8.GetByteCount(clean) + 1];
        Encoding.UTF8.GetBytes(clean, bytes);
        return bytes;
    }

    private static void SetVoice(string voice)
    {
        EnsureInitialized();
        if (voice == _currentVoice) return;
        if (voice.Length == 0 || voice.Contains('\0')) throw new VoiceLoadException($"espeak-ng voice '{voice}' is not a voice name");
        var status = Native.espeak_SetVoiceByName(voice);
        if (status != 0)
        {
            _currentVoice = null;
            throw new VoiceLoadException($"espeak-ng has no voice '{voice}' (error {status})");
        }
        _currentVoice = voice;
    }

    private static void EnsureInitialized()
    {
        if (_sampleRate > 0) return;
        if (_initError is not null) throw new VoiceLoadException(_initError);
        try
        {
            // Data path null: the library's compiled-in default, Debian's espeak-ng-data.
            var rate = Native.espeak_Initialize(AudioOutputSynchronous, 0, null, InitializeDontExit);
            if (rate <= 0)
            {
                _initError = "espeak-ng could not initialise: is espeak-ng-data installed?";
                throw new VoiceLoadException(_initError);
            }
            Native.espeak_SetSynthCallback(&OnSamples);
            _sampleRate = rate;
        }
        catch (DllNotFoundException e)
        {
            _initError = $"{Library} is not installed (Debian package libespeak-ng1): {e.Message}";
            throw new VoiceLoadException(_initError, e);
        }
        catch (EntryPointNotFoundException e)
        {
            _initError = $"{Library} lacks a function this service needs: {e.Message}";
            throw new VoiceLoadException(_initError, e);
        }
    }

    // espeak-ng calls this during espeak_Synth with each block of samples (and a final call with none);
    // returning 1 aborts the synthesis.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnSamples(short* wav, int count, void* events)
    {
        var sink = _sink;
        if (sink is null) return 1;
        if (_sinkCancel.IsCancellationRequested) return 1;
        if (wav != null && count > 0) sink.AddRange(new ReadOnlySpan<short>(wav, count));
        return 0;
    }

    private static partial class Native
    {
        [LibraryImport(Library)]
        public static partial int espeak_Initialize(int output, int bufferLength, byte* path, int options);

        [LibraryImport(Library)]
        public static partial void espeak_SetSynthCallback(delegate* unmanaged[Cdecl]<short*, int, void*, int> callback);

        [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int espeak_SetVoiceByName(string name);

        [LibraryImport(Library)]
        public static partial int espeak_SetParameter(int parameter, int value, int relative);

        [LibraryImport(Library)]
        public static partial int espeak_Synth(void* text, nuint size, uint position, int positionType, uint endPosition,
            uint flags, uint* uniqueIdentifier, void* userData);

        [LibraryImport(Library)]
        public static partial byte* espeak_TextToPhonemes(void** textPointer, int textMode, int phonemeMode);
    }
}
