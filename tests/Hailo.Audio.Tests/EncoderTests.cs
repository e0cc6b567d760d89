using Hailo.TestSupport;
using System.Buffers.Binary;
using Hailo.Audio.Encoding;
using Xunit;

namespace Hailo.Audio.Tests;

/// <summary>
/// The speech encoders: 1.5 s of a 440 Hz tone at 22 050 Hz (Piper's usual rate) written in uneven pieces, read back
/// with ffprobe/ffmpeg for rate, channels, length and pitch; bytes out before completion; cancellation; the sentence
/// for a missing library.
/// </summary>
public sealed class EncoderTests
{
    private const int Rate = 22050;
    private const double Seconds = 1.5;

    private static float[] Tone(int rate = Rate, double seconds = Seconds, double frequency = 440, float amplitude = 0.5f)
    {
        var samples = new float[(int)Math.Round(seconds * rate)];
        for (var i = 0; i < samples.Length; i++) samples[i] = amplitude * (float)Math.Sin(2 * Math.PI * frequency * i / rate);
        return samples;
    }

    /// <summary>Writes the samples in uneven pieces (a sentence at a time, say).</summary>
    private static async Task WriteInPiecesAsync(IAudioEncoder encoder, float[] samples)
    {
        int[] pieces = [1000, 3333, 1, 7000, 4410];
        var at = 0;
        for (var i = 0; at < samples.Length; i++)
        {
            var n = Math.Min(pieces[i % pieces.Length], samples.Length - at);
            await encoder.WriteAsync(samples.AsMemory(at, n));
            at += n;
        }
    }

    public static TheoryData<AudioFormat, string, int> Formats => new()
    {
        { AudioFormat.Wav, "pcm_s16le", Rate },
        { AudioFormat.Pcm, "pcm_s16le", 24000 },
        { AudioFormat.Mp3, "mp3", Rate },
        { AudioFormat.Flac, "flac", Rate },
        { AudioFormat.Opus, "opus", 48000 },
        { AudioFormat.Aac, "aac", Rate },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task A_streamed_tone_decodes_to_its_rate_length_and_pitch(AudioFormat format, string codec, int rate)
    {
        Assert.Null(AudioEncoders.Unavailable(format));
        var output = new ForwardOnlyStream();
        await using (var encoder = AudioEncoders.Create(format, Rate, output))
        {
            Assert.Equal(rate, encoder.OutputRate);
            await WriteInPiecesAsync(encoder, Tone());
            await encoder.CompleteAsync();
        }

        var decoded = ProbedAudio.From(output.ToArray(), format);
        Assert.Equal("", decoded.Errors);
        Assert.Equal(codec, decoded.Codec);
        Assert.Equal(rate, decoded.SampleRate);
        Assert.Equal(1, decoded.Channels);
        // mp3 keeps LAME's encoder delay and the last frame's padding (no Xing/LAME tag in a stream): up to ~2200 samples
        // more; raw AAC (ADTS) its 1024 samples of priming and the last frame's padding.
        var over = format switch { AudioFormat.Mp3 => 2300.0 / Rate, AudioFormat.Aac => 2048.0 / Rate, _ => 0 };
        Assert.InRange(decoded.Seconds, Seconds - 0.05, Seconds + 0.05 + over);
        Assert.InRange(decoded.DominantFrequency(), 438, 442);
        Assert.InRange(decoded.Rms(), 0.5 / Math.Sqrt(2) * 0.85, 0.5 / Math.Sqrt(2) * 1.15);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Bytes_reach_the_output_before_completion(AudioFormat format, string codec, int rate)
    {
        _ = (codec, rate);
        var output = new ForwardOnlyStream();
        await using var encoder = AudioEncoders.Create(format, Rate, output);
        var tone = Tone();
        await encoder.WriteAsync(tone.AsMemory(0, tone.Length / 2));
        // ffmpeg (aac) encodes in its own process: its output arrives a moment later.
        for (var waited = 0; output.Written == 0 && format == AudioFormat.Aac && waited < 10_000; waited += 50) await Task.Delay(50);
        var early = output.Written;
        Assert.True(early > 0, $"{format}: nothing written before completion");
        await encoder.WriteAsync(tone.AsMemory(tone.Length / 2));
        await encoder.CompleteAsync();
        Assert.True(output.Written > early);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task A_cancelled_write_throws_and_the_encoder_takes_no_more(AudioFormat format, string codec, int rate)
    {
        _ = (codec, rate);
        var output = new ForwardOnlyStream();
        await using var encoder = AudioEncoders.Create(format, Rate, output);
        await encoder.WriteAsync(Tone(seconds: 0.2));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await encoder.WriteAsync(Tone(seconds: 0.2), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await encoder.CompleteAsync(cancelled.Token));
    }

    [Fact]
    public async Task A_write_cancelled_while_ffmpeg_encodes_kills_it()
    {
        var output = new ForwardOnlyStream();
        var encoder = (AacEncoder)AudioEncoders.Create(AudioFormat.Aac, Rate, output);
        await using (encoder)
        {
            await encoder.WriteAsync(Tone(seconds: 0.2));
            using var cancel = new CancellationTokenSource();
            // Far more than a pipe holds: the write waits on ffmpeg when the token fires.
            var write = encoder.WriteAsync(Tone(seconds: 600), cancel.Token).AsTask();
            await Task.Delay(100);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write);
            Assert.True(encoder.Process.WaitForExit(5000), "ffmpeg still runs after the cancelled write");
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await encoder.WriteAsync(Tone(seconds: 0.1)));
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task An_output_that_fails_fails_the_writes_instead_of_hanging(AudioFormat format, string codec, int rate)
    {
        _ = (codec, rate);
        var output = new ForwardOnlyStream { FailAfter = 100 };
        await using var encoder = AudioEncoders.Create(format, Rate, output);
        var write = Task.Run(async () =>
        {
            // A minute of audio, a second at a time, as a long text would be synthesised.
            for (var i = 0; i < 60; i++) await encoder.WriteAsync(Tone(seconds: 1));
            await encoder.CompleteAsync();
        });
        var failure = await Assert.ThrowsAnyAsync<IOException>(() => write.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the client went away", failure.Message);
    }

    [Fact]
    public async Task Disposing_before_completion_stops_ffmpeg()
    {
        var encoder = (AacEncoder)AudioEncoders.Create(AudioFormat.Aac, Rate, new ForwardOnlyStream());
        await encoder.WriteAsync(Tone(seconds: 0.2));
        var pid = encoder.Process.Id;
        Assert.True(Directory.Exists($"/proc/{pid}"));
        await encoder.DisposeAsync();
        for (var waited = 0; Directory.Exists($"/proc/{pid}") && waited < 5000; waited += 50) await Task.Delay(50);
        Assert.False(Directory.Exists($"/proc/{pid}"), "ffmpeg still runs after the encoder was disposed");
    }

    public static TheoryData<AudioFormat, string> Packages => new()
    {
        { AudioFormat.Mp3, "libmp3lame0" },
        { AudioFormat.Flac, FlacApi.Package() },
        { AudioFormat.Opus, "libopus0" },
        { AudioFormat.Aac, "ffmpeg" },
    };

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task A_missing_library_is_a_sentence_naming_the_package_not_a_crash(AudioFormat format, string package)
    {
        var options = new AudioEncoderOptions
        {
            Mp3Library = "libhailo-test-absent-mp3.so.0",
            FlacLibrary = "libhailo-test-absent-flac.so.12",
            OpusLibrary = "libhailo-test-absent-opus.so.0",
            Ffmpeg = new FfmpegOptions("/nonexistent/ffmpeg"),
        };
        var reason = AudioEncoders.Unavailable(format, options);
        Assert.NotNull(reason);
        Assert.Contains($"install {package}", reason);
        Assert.StartsWith(AudioEncoders.Name(format), reason);
        var e = Assert.Throws<AudioEncoderUnavailableException>(() => AudioEncoders.Create(format, Rate, new MemoryStream(), options));
        Assert.Equal(reason, e.Message);
        Assert.Equal(format, e.Format);
        // The default library is still there for everyone else.
        Assert.Null(AudioEncoders.Unavailable(format));
        await using var encoder = AudioEncoders.Create(format, Rate, new MemoryStream());
    }

    [Fact]
    public void The_flac_package_named_follows_the_debian_release()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-os-release-");
        try
        {
            var file = Path.Combine(dir.FullName, "os-release");
            File.WriteAllText(file, "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_ID=\"13\"\n");
            Assert.Equal("libflac14", FlacApi.Package(file));
            File.WriteAllText(file, "ID=debian\nVERSION_ID=\"12\"\n");
            Assert.Equal("libflac12", FlacApi.Package(file));
            Assert.Equal("libflac12", FlacApi.Package(Path.Combine(dir.FullName, "absent")));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Wav_and_pcm_need_no_encoder_library()
    {
        var options = new AudioEncoderOptions { Mp3Library = "x", FlacLibrary = "x", OpusLibrary = "x", Ffmpeg = FfmpegOptions.Off };
        Assert.Null(AudioEncoders.Unavailable(AudioFormat.Wav, options));
        Assert.Null(AudioEncoders.Unavailable(AudioFormat.Pcm, options));
        Assert.Contains("audio.ffmpeg: off", AudioEncoders.Unavailable(AudioFormat.Aac, options));
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    [Fact]
    public async Task Streamed_wav_has_unknown_sizes_seekable_and_whole_wav_exact_ones()
    {
        var tone = Tone();
        var streamed = new ForwardOnlyStream();
        await using (var encoder = AudioEncoders.Create(AudioFormat.Wav, Rate, streamed))
        {
            await WriteInPiecesAsync(encoder, tone);
            await encoder.CompleteAsync();
        }
        var bytes = streamed.ToArray();
        Assert.Equal(44 + tone.Length * 2, bytes.Length);
        Assert.Equal(uint.MaxValue, U32(bytes, 4));
        Assert.Equal(uint.MaxValue, U32(bytes, 40));

        var seekable = new MemoryStream();
        seekable.Write("prefix"u8);
        await using (var encoder = AudioEncoders.Create(AudioFormat.Wav, Rate, seekable))
        {
            await WriteInPiecesAsync(encoder, tone);
            await encoder.CompleteAsync();
        }
        Assert.Equal(seekable.Length, seekable.Position);
        var file = seekable.ToArray()[6..];
        Assert.Equal((uint)(36 + tone.Length * 2), U32(file, 4));
        Assert.Equal((uint)(tone.Length * 2), U32(file, 40));
        Assert.Equal(bytes[44..], file[44..]);

        var whole = new ForwardOnlyStream();
        await AudioEncoders.EncodeAsync(AudioFormat.Wav, tone, Rate, whole);
        Assert.Equal(file, whole.ToArray());
        Assert.Equal((uint)Rate, U32(file, 24));
    }

    [Fact]
    public async Task Flac_on_a_seekable_output_carries_its_sample_count()
    {
        var tone = Tone();
        var output = new MemoryStream();
        await using (var encoder = AudioEncoders.Create(AudioFormat.Flac, Rate, output))
        {
            await WriteInPiecesAsync(encoder, tone);
            await encoder.CompleteAsync();
        }
        Assert.Equal(output.Length, output.Position);
        var bytes = output.ToArray();
        Assert.Equal("fLaC"u8.ToArray(), bytes[..4]);
        // STREAMINFO after the 4-byte block header: 36 bits of total samples end its 18th byte.
        var packed = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(8 + 10));
        Assert.Equal((ulong)tone.Length, packed & 0xF_FFFF_FFFF);
        Assert.NotEqual(new byte[16], bytes[(8 + 18)..(8 + 34)]); // MD5 filled in
        var decoded = ProbedAudio.From(bytes, AudioFormat.Flac);
        Assert.Equal(tone.Length, decoded.Samples.Length);
    }

    [Fact]
    public async Task Opus_is_trimmed_to_the_exact_length_by_pre_skip_and_granule_position()
    {
        var tone = Tone();
        var output = new ForwardOnlyStream();
        await using (var encoder = AudioEncoders.Create(AudioFormat.Opus, Rate, output))
        {
            await WriteInPiecesAsync(encoder, tone);
            await encoder.CompleteAsync();
        }
        var bytes = output.ToArray();
        Assert.Equal("OggS"u8.ToArray(), bytes[..4]);
        Assert.Equal(2, bytes[5]); // beginning of stream
        var decoded = ProbedAudio.From(bytes, AudioFormat.Opus);
        Assert.Equal("", decoded.Errors);
        Assert.InRange(decoded.Samples.Length, 48000 * Seconds - 48, 48000 * Seconds + 48);
    }

    [Fact]
    public void Ogg_crc_matches_the_reference_value()
    {
        // CRC-32/MPEG-2 without its initial value and final XOR (Ogg's variant) of "123456789".
        Assert.Equal(0x89A1897Fu, OggWriter.Crc(0, "123456789"u8));
    }

    [Fact]
    public async Task Mp3_at_16_kHz_and_aac_at_an_unusual_rate()
    {
        var output = new ForwardOnlyStream();
        await using (var encoder = AudioEncoders.Create(AudioFormat.Mp3, 16000, output))
        {
            Assert.Equal(16000, encoder.OutputRate);
            await encoder.WriteAsync(Tone(16000));
            await encoder.CompleteAsync();
        }
        var mp3 = ProbedAudio.From(output.ToArray(), AudioFormat.Mp3);
        Assert.Equal(16000, mp3.SampleRate);
        Assert.InRange(mp3.DominantFrequency(), 438, 442);

        output = new ForwardOnlyStream();
        await using (var encoder = AudioEncoders.Create(AudioFormat.Aac, 20000, output))
        {
            Assert.Equal(24000, encoder.OutputRate);
            await encoder.WriteAsync(Tone(20000));
            await encoder.CompleteAsync();
        }
        var aac = ProbedAudio.From(output.ToArray(), AudioFormat.Aac);
        Assert.Equal(24000, aac.SampleRate);
        Assert.InRange(aac.DominantFrequency(), 438, 442);
    }

    [Fact]
    public async Task Completion_is_final()
    {
        await using var encoder = AudioEncoders.Create(AudioFormat.Pcm, Rate, new MemoryStream());
        await encoder.WriteAsync(Tone(seconds: 0.1));
        await encoder.CompleteAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await encoder.WriteAsync(Tone(seconds: 0.1)));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await encoder.CompleteAsync());
    }

    [Fact]
    public void Names_content_types_and_extensions_follow_openai()
    {
        foreach (var (name, format, type, ext) in new[]
                 {
                     ("mp3", AudioFormat.Mp3, "audio/mpeg", ".mp3"), ("OPUS", AudioFormat.Opus, "audio/ogg", ".opus"),
                     ("Aac", AudioFormat.Aac, "audio/aac", ".aac"), ("flac", AudioFormat.Flac, "audio/flac", ".flac"),
                     ("wav", AudioFormat.Wav, "audio/wav", ".wav"), ("pcm", AudioFormat.Pcm, "audio/pcm", ".pcm"),
                 })
        {
            Assert.True(AudioEncoders.TryParse(name, out var parsed));
            Assert.Equal(format, parsed);
            Assert.Equal(type, AudioEncoders.ContentType(format));
            Assert.Equal(ext, AudioEncoders.FileExtension(format));
            Assert.Equal(name.ToLowerInvariant(), AudioEncoders.Name(format));
        }
        Assert.False(AudioEncoders.TryParse("ogg", out _));
        Assert.False(AudioEncoders.TryParse(null, out _));
        Assert.False(AudioEncoders.TryParse("", out _));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioEncoders.Create(AudioFormat.Wav, 0, new MemoryStream()));
        Assert.Throws<ArgumentException>(() => AudioEncoders.Create(AudioFormat.Wav, Rate, new MemoryStream([], writable: false)));
    }
}
