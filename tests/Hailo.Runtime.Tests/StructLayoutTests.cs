using Hailo.TestSupport;
using System.Runtime.InteropServices;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>The C# mirrors against the sizes and offsets documented in hailo_shim.h / native-shim/README.md.</summary>
public unsafe class StructLayoutTests
{
    [Fact]
    public void Sizes_MatchTheHeader()
    {
        Assert.Equal(12, sizeof(HsVersion));
        Assert.Equal(64, sizeof(HsDeviceId));
        Assert.Equal(320, sizeof(HsIdentity));
        Assert.Equal(12, sizeof(HsTemperature));
        Assert.Equal(48, sizeof(HsHealth));
        Assert.Equal(40, sizeof(HsModelParams));
        Assert.Equal(200, sizeof(HsIoInfo));
        Assert.Equal(16, sizeof(HsQuant));
        Assert.Equal(132, sizeof(HsGenAiParams));
        Assert.Equal(32, sizeof(HsGenParams));
        Assert.Equal(32, sizeof(HsFrameSpec));
        Assert.Equal(28, sizeof(HsS2tParams));
        // Marshal.SizeOf must agree: the structs are blittable, so no marshalling copy differs from the managed layout.
        Assert.Equal(320, Marshal.SizeOf<HsIdentity>());
        Assert.Equal(48, Marshal.SizeOf<HsHealth>());
        Assert.Equal(200, Marshal.SizeOf<HsIoInfo>());
        Assert.Equal(132, Marshal.SizeOf<HsGenAiParams>());
        Assert.Equal(32, Marshal.SizeOf<HsFrameSpec>());
        Assert.Equal(28, Marshal.SizeOf<HsS2tParams>());
    }

    [Fact]
    public void Offsets_MatchTheHeader()
    {
        HsIdentity id;
        var b = (byte*)&id;
        Assert.Equal(20, (byte*)&id.Architecture - b);
        Assert.Equal(24, (byte*)&id.IsRelease - b);
        Assert.Equal(32, id.DeviceId - b);
        Assert.Equal(96, id.ArchName - b);
        Assert.Equal(128, id.BoardName - b);
        Assert.Equal(192, id.SerialNumber - b);
        Assert.Equal(224, id.PartNumber - b);
        Assert.Equal(256, id.ProductName - b);

        HsHealth h;
        b = (byte*)&h;
        Assert.Equal(8, (byte*)&h.OnDieTemperatureCelsius - b);
        Assert.Equal(28, (byte*)&h.DspUtilizationPercent - b);
        Assert.Equal(32, (byte*)&h.RamTotalKib - b);
        Assert.Equal(40, (byte*)&h.RamUsedKib - b);

        HsModelParams m;
        b = (byte*)&m;
        Assert.Equal(12, (byte*)&m.SchedulerPriority - b);
        Assert.Equal(24, (byte*)&m.NmsScoreThreshold - b);
        Assert.Equal(36, (byte*)&m.NmsMaxProposalsTotal - b);

        HsIoInfo io;
        b = (byte*)&io;
        Assert.Equal(0, io.Name - b);
        Assert.Equal(128, (byte*)&io.Height - b);
        Assert.Equal(140, (byte*)&io.FormatType - b);
        Assert.Equal(148, (byte*)&io.IsNms - b);
        Assert.Equal(152, (byte*)&io.FrameSize - b);
        Assert.Equal(160, (byte*)&io.NmsNumberOfClasses - b);
        Assert.Equal(172, (byte*)&io.NmsMaxAccumulatedMaskSize - b);
        Assert.Equal(176, (byte*)&io.QuantCount - b);
        Assert.Equal(180, (byte*)&io.QpScale - b);
        Assert.Equal(192, (byte*)&io.LimvalsMax - b);
        Assert.Equal(196, (byte*)&io.Reserved0 - b);

        HsGenAiParams g;
        Assert.Equal(128, (byte*)&g.OptimizeMemoryOnDevice - (byte*)&g);
        HsGenParams gp;
        Assert.Equal(28, (byte*)&gp.Seed - (byte*)&gp);
        HsFrameSpec fs;
        Assert.Equal(24, (byte*)&fs.FrameSize - (byte*)&fs);
        HsS2tParams s;
        Assert.Equal(12, s.Language - (byte*)&s);
    }

    [Fact]
    public void DefaultParams_ReturnedByValue_HaveTheDocumentedValues()
    {
        _ = FakeShim.Runtime;
        var m = NativeMethods.hs_model_default_params();
        Assert.Equal(1u, m.BatchSize);
        Assert.Equal(0, m.InputFormatType);
        Assert.Equal(0, m.OutputFormatType);
        Assert.Equal(16, m.SchedulerPriority);
        Assert.True(float.IsNaN(m.NmsScoreThreshold));
        Assert.True(float.IsNaN(m.NmsIouThreshold));
        Assert.Equal(0u, m.NmsMaxProposalsTotal);

        var g = NativeMethods.hs_gen_default_params();
        Assert.True(float.IsNaN(g.Temperature));
        Assert.True(float.IsNaN(g.TopP));
        Assert.True(float.IsNaN(g.FrequencyPenalty));
        Assert.Equal(0u, g.TopK);
        Assert.Equal(-1, g.DoSample);
        Assert.Equal(0, g.UseSeed);
        Assert.Equal(0xFFFFFFFFu, g.Seed);

        var s = NativeMethods.hs_s2t_default_params();
        Assert.Equal(0, s.Task);
        Assert.True(float.IsNaN(s.RepetitionPenalty));
        Assert.Equal(0u, s.TimeoutMs);
        Assert.Equal(0, s.Language[0]);

        var ga = NativeMethods.hs_genai_default_params();
        Assert.Equal(0, ga.LoraName[0]);
        Assert.Equal(0, ga.OptimizeMemoryOnDevice);
    }

    [Fact]
    public void GenerationParameters_RoundTripThroughTheNativeStruct()
    {
        _ = FakeShim.Runtime;
        var p = new GenerationParameters { Temperature = 0.25f, TopP = 0.5f, TopK = 7, FrequencyPenalty = 1.5f, MaxGeneratedTokens = 9, DoSample = false, Seed = 1234 };
        var native = p.ToNative();
        Assert.Equal(1, native.UseSeed);
        Assert.Equal(0, native.DoSample);
        Assert.Equal(p, GenerationParameters.FromNative(native));
        // Unset fields stay "unset" (NaN / 0 / -1), which the shim maps to the model's defaults.
        Assert.Equal(new GenerationParameters(), GenerationParameters.FromNative(new GenerationParameters().ToNative()));
    }

    /// <summary>
    /// The shim validates many input fields and names the offending one; an invalid value placed in each C# field
    /// must come back as an error about that same field, which proves the shim reads it at the offset C# wrote it.
    /// </summary>
    [Fact]
    public void ShimReadsEveryValidatedInputFieldAtItsOffset()
    {
        _ = FakeShim.Runtime;
        using var vd = VDevice.Open();
        var hef = FakeShim.ShimFixture("tiny.hef");

        void ExpectModel(string field, Func<HsModelParams, HsModelParams> change)
        {
            var p = change(NativeMethods.hs_model_default_params());
            var st = NativeMethods.hs_model_load(vd.Handle, hef, &p, out var h);
            var e = Shim.ErrorDisposing(st, h);
            Assert.Equal(2, st);
            Assert.Contains(field, e.ShimMessage);
        }
        ExpectModel("batch_size", p => p with { BatchSize = 0 });
        ExpectModel("input_format_type", p => p with { InputFormatType = 9 });
        ExpectModel("output_format_type", p => p with { OutputFormatType = 9 });
        ExpectModel("scheduler_priority", p => p with { SchedulerPriority = 40 });
        ExpectModel("nms_score_threshold", p => p with { NmsScoreThreshold = 3 });
        ExpectModel("nms_iou_threshold", p => p with { NmsIouThreshold = 3 });

        using var llm = LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"));
        var handle = llm.Handle;
        void ExpectGen(string field, Func<HsGenParams, HsGenParams> change)
        {
            var p = change(NativeMethods.hs_gen_default_params());
            var st = NativeMethods.hs_llm_generate_start(handle, &p, "x", null, null, out var c);
            var e = Shim.ErrorDisposing(st, c);
            Assert.Equal(2, st);
            Assert.Contains(field, e.ShimMessage);
        }
        ExpectGen("temperature", p => p with { Temperature = -1 });
        ExpectGen("top_p", p => p with { TopP = 2 });
        ExpectGen("frequency_penalty", p => p with { FrequencyPenalty = float.PositiveInfinity });
        ExpectGen("do_sample", p => p with { DoSample = 5 });
        ExpectGen("use_seed", p => p with { UseSeed = 2 });

        var ga = NativeMethods.hs_genai_default_params();
        ga.OptimizeMemoryOnDevice = 2;
        var st1 = NativeMethods.hs_llm_create(vd.Handle, FakeShim.ShimFixture("llm.json"), &ga, out var l2);
        Assert.Contains("optimize_memory_on_device", Shim.ErrorDisposing(st1, l2).ShimMessage);
        var ga2 = NativeMethods.hs_genai_default_params();
        new Span<byte>(ga2.LoraName, 128).Fill((byte)'x'); // no NUL anywhere in the array
        var st2 = NativeMethods.hs_llm_create(vd.Handle, FakeShim.ShimFixture("llm.json"), &ga2, out var l3);
        Assert.Contains("lora_name is not NUL-terminated", Shim.ErrorDisposing(st2, l3).ShimMessage);

        using var s2t = SpeechToText.Create(vd, FakeShim.ShimFixture("s2t.json"));
        var sh = s2t.Handle;
        var pcm = new float[1600];
        var sp = NativeMethods.hs_s2t_default_params();
        sp.Task = 7;
        fixed (float* x = pcm)
        {
            var st3 = NativeMethods.hs_s2t_transcribe(sh, x, (nuint)pcm.Length, &sp, out var segs);
            Assert.Contains("task must be", Shim.ErrorDisposing(st3, segs).ShimMessage);
            var sp2 = NativeMethods.hs_s2t_default_params();
            new Span<byte>(sp2.Language, 16).Fill((byte)'e');
            var st4 = NativeMethods.hs_s2t_transcribe(sh, x, (nuint)pcm.Length, &sp2, out var segs2);
            Assert.Contains("language is not NUL-terminated", Shim.ErrorDisposing(st4, segs2).ShimMessage);
        }
    }

    [Fact]
    public void FixedStrings_AreNulTerminatedAndBounded()
    {
        var s2t = new HsS2tParams();
        FixedString.Write(s2t.Language, 16, "de", "language");
        Assert.Equal("de", FixedString.Read(s2t.Language, 16));
        var threw = false;
        try { FixedString.Write(s2t.Language, 16, new string('x', 16), "language"); }
        catch (ArgumentException) { threw = true; }
        Assert.True(threw, "a 16-byte value leaves no room for the NUL");
        var ga = new HsGenAiParams();
        FixedString.Write(ga.LoraName, 128, "lora-ü", "lora");
        Assert.Equal("lora-ü", FixedString.Read(ga.LoraName, 128));
    }
}
