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
        _ = TestShim.Runtime;
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
        _ = TestShim.Runtime;
        var p = new GenerationParameters { Temperature = 0.25f, TopP = 0.5f, TopK = 7, FrequencyPenalty = 1.5f, MaxGeneratedTokens = 9, DoSample = false, Seed = 1234 };
        var native = p.ToNative();
        Assert.Equal(1, native.UseSeed);
        Assert.Equal(0, native.DoSample);
        Assert.Equal(p, GenerationParameters.FromNative(native));
        // Unset fields stay "unset" (NaN / 0 / -1), which the shim maps to the model's defaults.
        Assert.Equal(new GenerationParameters(), GenerationParameters.FromNative(new GenerationParameters().ToNative()));
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
