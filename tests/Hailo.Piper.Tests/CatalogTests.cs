using Hailo.Core;
using Hailo.Hosting.Config;
using Hailo.Hosting.Models;
using HailoPiper;
using HailoPiper.Voices;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>Voice names, the catalog (with voices found on disk) and the config's checks.</summary>
public sealed class CatalogTests
{
    [Theory]
    [InlineData("espeak:en-us", true)]
    [InlineData("espeak:en-us+f3", true)]
    [InlineData("en_US-lessac-medium", true)]
    [InlineData("espeak:", false)]
    [InlineData("espeak:../../etc", false)]
    [InlineData("../x", false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData("voice with space", false)]
    public void Voice_names_are_checked(string name, bool ok) => Assert.Equal(ok, PiperModels.IsVoiceName(name));

    [Theory]
    [InlineData("en-us", "en_US")]
    [InlineData("en-gb+f3", "en_GB")]
    [InlineData("de", "de")]
    [InlineData("cmn-latn-pinyin", "cmn-latn-pinyin")]
    public void Espeak_voice_names_give_their_language(string espeak, string language) => Assert.Equal(language, VoiceCatalog.LanguageOfEspeak(espeak));

    [Fact]
    public void Catalog_voices_point_at_the_piper_voices_host_and_are_marked_unverified()
    {
        ModelStore.CheckCatalog(PiperModels.Catalog);
        var lessac = PiperModels.Catalog.Single(m => m.Name == "en_US-lessac-medium");
        Assert.Equal("https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium.onnx", lessac.Files[0].Url);
        Assert.Equal("https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium.onnx.json", lessac.Files[1].Url);
        Assert.Equal("https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/de/de_DE/thorsten/medium/de_DE-thorsten-medium.onnx",
            PiperModels.Catalog.Single(m => m.Name == "de_DE-thorsten-medium").Files[0].Url);
        Assert.All(PiperModels.Catalog, m => Assert.False(m.Verified));
        Assert.Contains(PiperModels.Catalog, m => m.Name == "en_US-amy-low");
        Assert.Contains(PiperModels.Catalog, m => m.Name == "en_GB-alan-medium");
    }

    [Fact]
    public void Voices_on_disk_are_found_with_their_metadata_and_catalog_voices_are_located()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-piper-catalog-").FullName;
        try
        {
            TestVoices.WritePiperVoice(dir, "en_US-lessac-medium", 22050, "en_US");
            TestVoices.WritePiperVoice(dir, "my-own-voice", 44100, "nl_NL", "a", "b", "c");
            File.WriteAllText(Path.Combine(dir, "lonely.onnx"), "no json beside it");
            Directory.CreateDirectory(Path.Combine(dir, "broken"));
            File.WriteAllText(Path.Combine(dir, "broken", "broken.onnx"), "x");
            File.WriteAllText(Path.Combine(dir, "broken", "broken.onnx.json"), "{not json");
            var config = PiperFixture.Config(dir);
            var catalog = new VoiceCatalog(config, new ModelStore(dir, [], PiperModels.Catalog));
            var mine = catalog.Find("MY-OWN-VOICE")!;
            Assert.Equal(VoiceKind.Piper, mine.Kind);
            Assert.Equal(44100, mine.SampleRate);
            Assert.Equal(["a", "b", "c"], mine.Speakers);
            Assert.Equal(["nl_NL"], mine.Languages);
            Assert.EndsWith("my-own-voice.onnx.json", mine.Config);
            Assert.Null(catalog.Find("lonely"));
            var broken = catalog.Find("broken")!; // a bad .onnx.json is still listed; loading it says what is wrong
            Assert.Equal(22050, broken.SampleRate);
            Assert.True(catalog.Find("en_US-lessac-medium")!.Installed);
            Assert.False(catalog.Find("en_US-amy-low")!.Installed);
            Assert.Equal(16000, catalog.Find("en_US-amy-low")!.SampleRate);
            Assert.Null(catalog.Find("espeak:xx")); // not in piper.espeak_voices
            Assert.Equal("en-gb", catalog.Find("espeak:EN-GB")!.EspeakName);
            var all = catalog.All().Select(v => v.Name).ToList();
            Assert.Equal("espeak:en-us", all[0]);
            Assert.Equal(all.Count, all.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static List<string> Problems(Action<PiperConfig> change)
    {
        var c = new PiperConfig();
        change(c);
        var errors = new ConfigErrors();
        c.Validate(errors);
        return errors.Messages.ToList();
    }

    [Fact]
    public void The_config_refuses_the_npu_and_values_out_of_range()
    {
        Assert.Empty(Problems(_ => { }));
        Assert.Contains(Problems(c => c.Device = Backend.Npu), p => p.StartsWith("device", StringComparison.Ordinal));
        Assert.Empty(Problems(c => c.Device = Backend.Auto));
        Assert.Contains(Problems(c => c.Piper.MaxInputChars = 0), p => p.StartsWith("piper.max_input_chars", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Piper.MaxLoadedVoices = 0), p => p.StartsWith("piper.max_loaded_voices", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Piper.MemoryBudgetMb = -1), p => p.StartsWith("piper.memory_budget_mb", StringComparison.Ordinal));
        Assert.Empty(Problems(c => c.Piper.MemoryBudgetMb = 0));
        Assert.Contains(Problems(c => c.Piper.SentenceSilenceSeconds = double.NaN), p => p.StartsWith("piper.sentence_silence_seconds", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Piper.EspeakVoices.Add("../x")), p => p.StartsWith("piper.espeak_voices", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Piper.OpenaiVoices["alloy"] = "a/b"), p => p.StartsWith("piper.openai_voices.alloy", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Wyoming.Port = 70000), p => p.StartsWith("wyoming.port", StringComparison.Ordinal));
        Assert.Contains(Problems(c => c.Audio.Ffmpeg = "ffmpeg"), p => p.StartsWith("audio.ffmpeg", StringComparison.Ordinal));
        Assert.Empty(Problems(c => c.Audio.Ffmpeg = "off"));
        Assert.Empty(Problems(c => c.Audio.Ffmpeg = "/opt/ffmpeg/bin/ffmpeg"));
    }
}
