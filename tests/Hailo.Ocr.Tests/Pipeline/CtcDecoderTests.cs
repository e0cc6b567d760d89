using System.Text;
using HailoOcr.Pipeline;
using Xunit;

namespace Hailo.Ocr.Tests.Pipeline;

public class CtcDecoderTests
{
    /// <summary>One row per step: the given class gets <c>p</c>, the rest share 1 − p evenly.</summary>
    private static float[] Steps(int classes, params (int Cls, float P)[] steps)
    {
        var m = new float[steps.Length * classes];
        for (var t = 0; t < steps.Length; t++)
        {
            var rest = (1 - steps[t].P) / (classes - 1);
            for (var c = 0; c < classes; c++) m[t * classes + c] = c == steps[t].Cls ? steps[t].P : rest;
        }
        return m;
    }

    private static readonly CtcDecoder Abc = new(["a", "b", "c", "l"], appendSpace: false);

    [Fact]
    public void RepeatsCollapse_AndBlanksDrop()
    {
        var probs = Steps(5, (1, .9f), (1, .8f), (0, .9f), (2, .7f), (2, .9f), (2, .6f), (3, .9f), (0, .9f));
        Assert.Equal("abc", Abc.Decode(probs, 8, 5).Text);
    }

    [Fact]
    public void BlankSeparatesTrueRepeats()
    {
        Assert.Equal("ll", Abc.Decode(Steps(5, (4, .9f), (0, .9f), (4, .9f)), 3, 5).Text);
        Assert.Equal("l", Abc.Decode(Steps(5, (4, .9f), (4, .9f)), 2, 5).Text);
        Assert.Equal("lal", Abc.Decode(Steps(5, (4, .9f), (1, .9f), (4, .9f)), 3, 5).Text);
    }

    [Fact]
    public void Confidence_IsMeanOfKeptStepsMaxProbability()
    {
        // Kept: a (0.9) and b (0.6); the repeated a (0.5) and the blank (0.99) do not count.
        var (text, conf) = Abc.Decode(Steps(5, (1, .9f), (1, .5f), (0, .99f), (2, .6f)), 4, 5);
        Assert.Equal("ab", text);
        Assert.Equal(0.75f, conf, 5);
    }

    [Fact]
    public void NothingKept_GivesEmptyTextAndZeroConfidence()
    {
        Assert.Equal(("", 0f), Abc.Decode(Steps(5, (0, .9f), (0, .8f)), 2, 5));
        Assert.Equal(("", 0f), Abc.Decode([], 0, 5));
    }

    [Fact]
    public void SpaceClass_FollowsTheAlphabet()
    {
        var d = new CtcDecoder(["a", "b"], appendSpace: true);
        Assert.Equal(4, d.ClassCount);
        Assert.Equal("a b", d.Decode(Steps(4, (1, .9f), (3, .9f), (2, .9f)), 3, 4).Text);
        Assert.Equal(3, new CtcDecoder(["a", "b"], appendSpace: false).ClassCount);
    }

    [Fact]
    public void MultiCharacterEntries_AreEmittedVerbatim()
    {
        var d = new CtcDecoder(["ab", "ç", "😀"], appendSpace: false);
        Assert.Equal("abç😀ab", d.Decode(Steps(4, (1, .9f), (2, .9f), (3, .9f), (1, .9f)), 4, 4).Text);
    }

    [Fact]
    public void Argmax_TiePrefersLowerClass()
    {
        // Equal probabilities for blank and 'a': the blank (first) wins, so nothing is emitted.
        Assert.Equal("", Abc.Decode([0.5f, 0.5f, 0, 0, 0], 1, 5).Text);
    }

    [Fact]
    public void WrongShapes_Throw()
    {
        Assert.Throws<ArgumentException>(() => Abc.Decode(new float[12], 3, 4));
        Assert.Throws<ArgumentException>(() => Abc.Decode(new float[14], 3, 5));
        Assert.ThrowsAny<ArgumentException>(() => Abc.Decode(new float[15], -1, 5));
    }

    [Fact]
    public void DictionaryFile_CrlfLinesAndSpaceEntry()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ctc-dict-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(path, "a\r\nb\r\n \r\n中\r\nx y\r\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            var d = CtcDecoder.FromDictionaryFile(path, appendSpace: true);
            Assert.Equal(7, d.ClassCount); // blank + 5 entries + space
            var probs = Steps(7, (1, .9f), (3, .9f), (4, .9f), (5, .9f), (6, .9f), (2, .9f));
            Assert.Equal("a 中x y b", d.Decode(probs, 6, 7).Text);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DictionaryFile_LfWithoutTrailingNewline()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ctc-dict-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(path, "0\n1\n2", new UTF8Encoding(false));
            var d = CtcDecoder.FromDictionaryFile(path, appendSpace: false);
            Assert.Equal(4, d.ClassCount);
            Assert.Equal("210", d.Decode(Steps(4, (3, .9f), (2, .9f), (1, .9f)), 3, 4).Text);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
