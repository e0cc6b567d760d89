using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.Vision;
using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests.Pipeline;

/// <summary>
/// The NPU head decoder on synthetic head tensors that encode known people. Proves the decoding formulas (DFL
/// expectation, anchor centres, keypoint offsets, sigmoid; the DFL and sigmoid arithmetic alone in Hailo.Vision.Tests), de-quantisation with realistic uint8/uint16 parameters,
/// NMS and the letterbox undo, to within a pixel. It cannot show that a real HEF's outputs follow these formulas: that
/// needs the yolov8s_pose HEF on a Hailo-10H.
/// </summary>
public sealed class YoloPoseHeadsTests
{
    [Fact]
    public void Float_heads_decode_to_the_encoded_people_in_input_pixels()
    {
        var enc = new PoseHeadEncoder(quantised: false);
        KnownPerson[] people =
        [
            KnownPerson.Standing(40, 60, 120, 220, 0.9f),    // 80×160: stride 16
            KnownPerson.Standing(300, 100, 600, 620, 0.8f),   // 300×520: stride 32
            KnownPerson.Standing(200, 400, 240, 470, 0.7f),   // 40×70: stride 8
        ];
        foreach (var p in people) enc.Add(p);
        var into = new PoseCandidates();
        YoloPoseHeads.Decode(enc.Levels.Select(l => l.ToFloatLevel()).ToArray(), 0.5f, scoresAreLogits: false, into);
        Assert.Equal(3, into.Count);
        var identity = LetterboxTransform.Fit(640, 640, 640, 640);
        PoseAssert.AllMatch(people, Enumerable.Range(0, 3).Select(i => PosePipeline.ToImage(into.Row(i), identity, 640, 640)).ToList(), 0.01f);
    }

    public static TheoryData<int, int> ImageSizes => new()
    {
        { 640, 640 }, { 1280, 720 }, { 720, 1280 }, { 1920, 1080 }, { 333, 999 }, { 4000, 3000 }, { 500, 260 }, { 1279, 719 },
    };

    /// <summary>People in image pixels for an image of the given size: a big one, a medium one and a small one.</summary>
    internal static KnownPerson[] PeopleFor(int w, int h) =>
    [
        KnownPerson.Standing(0.08f * w, 0.10f * h, 0.40f * w, 0.95f * h, 0.91f),
        KnownPerson.Standing(0.55f * w, 0.30f * h, 0.72f * w, 0.70f * h, 0.85f),
        KnownPerson.Standing(0.80f * w, 0.05f * h, 0.86f * w, 0.17f * h, 0.62f),
    ];

    [Theory]
    [MemberData(nameof(ImageSizes))]
    public void Quantised_heads_recover_people_within_a_pixel_after_the_letterbox_undo(int width, int height)
    {
        var fit = LetterboxTransform.Fit(width, height, 640, 640);
        var people = PeopleFor(width, height);
        var enc = new PoseHeadEncoder();
        foreach (var p in people) enc.Add(p.ToInput(fit));

        // De-quantise the native codes exactly as the NPU adapter does (the production de-quantiser).
        var levels = enc.Levels.Select(l =>
        {
            var box = new float[l.BoxCodes.Length];
            var score = new float[l.ScoreCodes.Length];
            var kpt = new float[l.KeypointCodes.Length];
            var (bq, sq, kq) = (PoseHeadEncoder.BoxQuant, PoseHeadEncoder.ScoreQuant, PoseHeadEncoder.KeypointQuant);
            Dequantize.ToFloat(l.BoxCodes, bq.Scale, bq.ZeroPoint, box);
            Dequantize.ToFloat(l.ScoreCodes, sq.Scale, sq.ZeroPoint, score);
            Dequantize.ToFloat(l.KeypointCodes, kq.Scale, kq.ZeroPoint, kpt);
            return new PoseHeadLevel(l.Stride, l.Grid, l.Grid, box, score, kpt);
        }).ToArray();

        var into = new PoseCandidates();
        YoloPoseHeads.Decode(levels, 0.5f, scoresAreLogits: false, into);
        var kept = Nms.ClassAgnostic(into.Rows, PoseCandidates.RowLength, 0.45f, 10);
        var decoded = kept.Select(i => PosePipeline.ToImage(into.Row(i), fit, width, height)).ToList();
        PoseAssert.AllMatch(people, decoded, 1.0f);
        Assert.True(decoded.Zip(decoded.Skip(1)).All(p => p.First.Score >= p.Second.Score), "best score first");
    }

    [Fact]
    public void Score_logits_get_a_sigmoid_and_the_threshold_applies_after_it()
    {
        var enc = new PoseHeadEncoder(quantised: false);
        enc.Add(KnownPerson.Standing(100, 100, 200, 300, 0.9f));
        var levels = enc.Levels.Select(l => l.ToFloatLevel()).ToArray();
        var level = Array.FindIndex(levels, l => l.Scores.Any(s => s > 0));
        var cell = Array.FindIndex(levels[level].Scores, s => s > 0);
        levels[level].Scores[cell] = 2f; // a logit: sigmoid(2) = 0.8808
        var into = new PoseCandidates();
        YoloPoseHeads.Decode(levels, 0.88f, scoresAreLogits: true, into);
        Assert.Equal(1, into.Count);
        Assert.Equal(0.8808f, into.Score(0), 1e-4f);
        into.Clear();
        YoloPoseHeads.Decode(levels, 0.89f, scoresAreLogits: true, into);
        Assert.Equal(0, into.Count);
        levels[level].Scores[cell] = float.NaN;
        YoloPoseHeads.Decode(levels, 0f, scoresAreLogits: false, into);
        Assert.Equal(0, Enumerable.Range(0, into.Count).Count(i => float.IsNaN(into.Score(i))));
    }

    [Fact]
    public void Every_cell_decodes_at_threshold_zero_with_the_anchor_layout_of_the_head()
    {
        // All 8400 anchors: uniform DFL logits put every box at anchor ± 7.5 strides, so each centre is its anchor.
        var enc = new PoseHeadEncoder(quantised: false);
        var into = new PoseCandidates();
        YoloPoseHeads.Decode(enc.Levels.Select(l => l.ToFloatLevel()).ToArray(), 0f, scoresAreLogits: false, into);
        Assert.Equal(8400, into.Count);
        var row = into.Row(6400 + 1600 + 21); // stride 32, cell (1, 1)
        Assert.Equal(48f, (row[0] + row[2]) / 2, 1e-3f);
        Assert.Equal(48f, (row[1] + row[3]) / 2, 1e-3f);
        Assert.Equal(15 * 32f, row[2] - row[0], 1e-3f);
        Assert.Equal(32f, row[5], 1e-4f);  // keypoint (2·0 + gx)·s
        Assert.Equal(0.5f, row[7], 1e-6f); // sigmoid(0)
    }
}
