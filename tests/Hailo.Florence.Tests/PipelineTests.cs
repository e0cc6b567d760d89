using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.TestSupport;
using HailoFlorence;
using HailoFlorence.Pipeline;
using Xunit;

namespace Hailo.Florence.Tests;

/// <summary>
/// The tokenizer on a generated tokenizer.json (the real file's format) whose ids are derivable by hand, the location
/// post-processing, and the decoding loop on the generated four-part model. They prove the plumbing (tokens, cache,
/// flags, image features ahead of the prompt), not Florence-2's answers.
/// </summary>
public sealed class PipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("florence-pipe-").FullName;
    private static readonly BartTokenizer Tok = BartTokenizer.Parse(FlorenceTestModel.TokenizerJson());

    public void Dispose() => Directory.Delete(_dir, true);

    private static int B(char c) => FlorenceTestModel.ByteId((byte)c);

    [Fact]
    public void Tokenizer_merges_by_rank_and_wraps_in_s_and_end()
    {
        Assert.Equal([0, FlorenceTestModel.Cat, FlorenceTestModel.Dog, 2], Tok.Encode("cat dog"));
        Assert.Equal([0, FlorenceTestModel.Hello, FlorenceTestModel.World, 2], Tok.Encode("hello world"));
        // No merge for "Wh": bytes; " do" merges to "Ġdo" (merge 3) but "Ġdo" + "e" has none.
        Assert.Equal([0, B('W'), B('h'), FlorenceTestModel.MergeBase + 3, B('e'), B('s'), 2], Tok.Encode("Wh does"));
        // Added tokens are split off first, whatever surrounds them.
        Assert.Equal([0, Tok.TokenId("<OD>")!.Value, FlorenceTestModel.Cat, FlorenceTestModel.Loc(5), 2], Tok.Encode("<OD>cat<loc_5>"));
        Assert.Equal(FlorenceTestModel.LocBase, Tok.LocBase);
    }

    [Fact]
    public void Tokenizer_round_trips_utf8_and_drops_specials_on_request()
    {
        const string text = "Öffné ☃ naïve?! 42";
        var ids = Tok.Encode(text);
        Assert.Equal(text, Tok.Decode(ids, skipSpecial: true));
        Assert.Equal("<s>" + text + "</s>", Tok.Decode(ids));
        // "é" is two UTF-8 bytes, "☃" three: one id per byte without merges.
        Assert.Equal(2 + System.Text.Encoding.UTF8.GetByteCount(text), ids.Length);
        Assert.Equal("cat<loc_1>", Tok.Decode([FlorenceTestModel.Cat, FlorenceTestModel.Loc(1)]));
    }

    [Fact]
    public void Task_prompts_expand_as_florence_processor_does()
    {
        Assert.Equal("What does the image describe?", FlorenceTasks.Find("<CAPTION>")!.BuildPrompt(null));
        Assert.Equal("Locate the phrases in the caption: a cat", FlorenceTasks.Find("caption_to_phrase_grounding")!.BuildPrompt("a cat"));
        Assert.Equal("Locate the objects with category name in the image.", FlorenceTasks.Find("od")!.BuildPrompt(null));
        Assert.Null(FlorenceTasks.Find("<VQA>"));
    }

    [Fact]
    public void Locations_become_pixel_boxes_and_quadrilaterals()
    {
        var r = FlorencePostprocess.Parse("</s><s>cat<loc_100><loc_200><loc_300><loc_400> dog<loc_0><loc_0><loc_999><loc_999><loc_10><loc_10><loc_20><loc_20></s>", TaskOutput.Boxes, 1000, 500);
        Assert.Equal("cat dog", r.Text);
        Assert.Equal(3, r.Boxes.Count);
        Assert.Equal(new LabeledBox("cat", 100.5, 100.25, 300.5, 200.25), r.Boxes[0]);
        Assert.Equal(new LabeledBox("dog", 0.5, 0.25, 999.5, 499.75), r.Boxes[1]);
        Assert.Equal("dog", r.Boxes[2].Label);
        var q = FlorencePostprocess.Parse("<s>hi<loc_0><loc_0><loc_10><loc_0><loc_10><loc_10><loc_0><loc_10>x<loc_1></s>", TaskOutput.Quads, 2000, 1000);
        Assert.Single(q.Quads);
        Assert.Equal("hi", q.Quads[0].Label);
        Assert.Equal([(1.0, 0.5), (21.0, 0.5), (21.0, 10.5), (1.0, 10.5)], q.Quads[0].Points);
    }

    private FlorencePipeline Load()
    {
        FlorenceTestModel.Write(_dir);
        return FlorenceService.LoadCpu(new Hailo.Hosting.Models.ModelLocation(FlorenceModels.StandInOnnx,
            FlorenceModels.StandInOnnx.Files.ToDictionary(f => f.Name, f => Path.Combine(_dir, f.Name)), []), FlorenceModels.StandInOnnx, 1);
    }

    private static readonly GenerationOptions Greedy = new(100, 0, 0, 0);

    [Fact]
    public void The_decoder_reuses_its_cache_the_past_grows_by_one_each_step()
    {
        using var p = Load();
        Assert.Equal((2, 2, 4), p.DecoderShape);
        using var white = RgbaImage.Filled(64, 48, 255, 255, 255);
        var g = p.Generate(white, "cat dog", Greedy);
        // The echo model answers the prompt token at encoder position 4 + past length: only a growing cache and the
        // prompt placed after the four image features give back <s> cat dog </s>.
        Assert.Equal([0, FlorenceTestModel.Cat, FlorenceTestModel.Dog, 2], g.Generated);
        Assert.Equal([0, 1, 2, 3], g.PastLengths);
        Assert.False(g.Truncated);
        Assert.Equal("<s>cat dog</s>", g.Text);
    }

    [Fact]
    public void The_image_features_reach_the_decoder_through_the_encoder()
    {
        using var p = Load();
        using var red = RgbaImage.Filled(64, 48, 255, 0, 0);
        Assert.Equal(FlorenceTestModel.RedScript, p.Generate(red, "anything", Greedy).Generated);
        using var blue = RgbaImage.Filled(64, 48, 0, 0, 255);
        Assert.Equal(FlorenceTestModel.BlueScript, p.Generate(blue, "anything", Greedy).Generated);
    }

    [Fact]
    public void Max_and_min_length_bound_the_generation()
    {
        using var p = Load();
        using var white = RgbaImage.Filled(8, 8, 255, 255, 255);
        var g = p.Generate(white, "cat dog", Greedy with { MaxLength = 2 });
        Assert.Equal([0, FlorenceTestModel.Cat], g.Generated);
        Assert.True(g.Truncated);
        var longer = p.Generate(white, "cat dog", Greedy with { MinLength = 6 });
        Assert.Equal(6, longer.Generated.Length - 1);       // the end token held back until 6 tokens
        Assert.Equal(2, longer.Generated[^1]);
        Assert.DoesNotContain(2, longer.Generated[..^1]);
    }

    [Fact]
    public void Beam_search_keeps_a_cache_per_hypothesis()
    {
        using var p = Load();
        using var white = RgbaImage.Filled(16, 16, 255, 255, 255);
        var beams = Greedy with { NumBeams = 3 };
        // Every hypothesis runs with its own cache: a wrong one (or a wrong flag) makes the model answer <unk>, and a
        // cache that did not grow would repeat the first prompt token. The generated model's answers are sharp, so the
        // best beam is the greedy answer; that beams can beat greedy on real logits only a real model shows.
        var g = p.Generate(white, "hello world", beams);
        Assert.Equal([0, FlorenceTestModel.Hello, FlorenceTestModel.World, 2], g.Generated);
        Assert.Equal([0, 1, 2, 3], g.PastLengths);
        Assert.True(g.Steps > g.Generated.Length, $"{g.Steps} decoder runs for {g.Generated.Length} tokens: one per live beam");
        using var red = RgbaImage.Filled(16, 16, 255, 0, 0);
        Assert.Equal(FlorenceTestModel.RedScript, p.Generate(red, "x", beams).Generated);
        var cut = p.Generate(white, "hello world", beams with { MaxLength = 2 });
        Assert.True(cut.Truncated);
        Assert.Equal([0, FlorenceTestModel.Hello], cut.Generated);
    }

    [Fact]
    public void No_repeat_ngram_bans_the_token_that_would_repeat_a_trigram()
    {
        Assert.Equal([9], FlorencePipeline.BannedNgramTokens([5, 7, 9, 5, 7], 3).ToArray());
        Assert.Empty(FlorencePipeline.BannedNgramTokens([5, 7, 9, 5, 8], 3));
        Assert.Equal([5, 7], FlorencePipeline.BannedNgramTokens([5, 7, 5], 1).ToArray());
    }

    [Fact]
    public void A_model_without_the_merged_decoder_signature_is_refused_at_load()
    {
        FlorenceTestModel.Write(_dir);
        File.WriteAllBytes(Path.Combine(_dir, "decoder_model_merged.onnx"), FlorenceTestModel.Encoder());
        var e = Assert.Throws<InvalidDataException>(() => FlorenceService.LoadCpu(new Hailo.Hosting.Models.ModelLocation(FlorenceModels.StandInOnnx,
            FlorenceModels.StandInOnnx.Files.ToDictionary(f => f.Name, f => Path.Combine(_dir, f.Name)), []), FlorenceModels.StandInOnnx, 1));
        Assert.Contains("decoder_model_merged", e.Message);
    }
}
