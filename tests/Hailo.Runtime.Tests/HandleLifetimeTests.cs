using Hailo.TestSupport;
using System.Runtime.CompilerServices;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>SafeHandle ownership: double dispose, use after dispose, release order, finalisation.</summary>
public class HandleLifetimeTests
{
    public HandleLifetimeTests() => _ = FakeShim.Runtime;

    [Fact]
    public async Task EveryWrapper_CanBeDisposedTwice()
    {
        var vd = VDevice.Open();
        var dev = NpuDevice.Open();
        var model = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        var s2t = SpeechToText.Create(vd, FakeShim.ShimFixture("s2t.json"));
        var llm = LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"));
        var gen = llm.Generate("a b");
        await gen.ReadToEndAsync();
        var buffer = new NpuBuffer(16);
        IDisposable[] all = [gen, llm, s2t, model, dev, vd, buffer];
        foreach (var d in all) d.Dispose();
        foreach (var d in all) d.Dispose();
        await gen.DisposeAsync();
        using var vd2 = VDevice.Open();
        var vlm = VlmModel.Create(vd2, FakeShim.ShimFixture("vlm.json"));
        vlm.Dispose();
        vlm.Dispose();
    }

    [Fact]
    public async Task UseAfterDispose_ThrowsObjectDisposed_NotACrash()
    {
        var vd = VDevice.Open();
        var model = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Infer(new byte[4], new byte[2]));
        Assert.Throws<ObjectDisposedException>(() => model.InferTensors(new byte[4]));
        Assert.Throws<ObjectDisposedException>(() => model.Infer([new byte[4]], [new byte[2]]));

        var llm = LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"));
        llm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => llm.Tokenize("x"));
        Assert.Throws<ObjectDisposedException>(() => llm.GetContextUsage());
        Assert.Throws<ObjectDisposedException>(() => llm.GetPromptTemplate());
        Assert.Throws<ObjectDisposedException>(() => llm.Generate("x"));
        Assert.Throws<ObjectDisposedException>(() => llm.ClearContext());
        Assert.False(llm.IsGenerating);

        var vlm = VlmModel.Create(vd, FakeShim.ShimFixture("vlm.json"));
        vlm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vlm.GetGenerationDefaults());
        Assert.Throws<ObjectDisposedException>(() => vlm.Generate(VlmModel.UserMessageJson("x", 0), []));

        var s2t = SpeechToText.Create(vd, FakeShim.ShimFixture("s2t.json"));
        s2t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s2t.Transcribe(new float[16000]));

        var dev = NpuDevice.Open();
        dev.Dispose();
        Assert.Throws<ObjectDisposedException>(() => dev.Temperature());

        var buffer = new NpuBuffer(8);
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.GetSpan());

        vd.Dispose();
        Assert.Throws<ObjectDisposedException>(() => VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef")));
        Assert.Throws<ObjectDisposedException>(() => LlmModel.Create(vd, FakeShim.ShimFixture("llm.json")));

        // A generation disposed after it finished: Abort is a no-op, not a use-after-free.
        using var vd2 = VDevice.Open();
        using var llm2 = LlmModel.Create(vd2, FakeShim.ShimFixture("llm.json"));
        var gen = llm2.Generate("done");
        await gen.ReadToEndAsync();
        gen.Abort();
    }

    [Fact]
    public void ChildrenOutliveTheirVDevice()
    {
        var vd = VDevice.Open();
        using var model = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        using var llm = LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"));
        vd.Dispose(); // the shim keeps the device alive for its models
        var o = new byte[2];
        model.Infer(new byte[4], o);
        Assert.Equal([7, 9], o);
        Assert.Single(llm.Tokenize("x"));
    }

    [Fact]
    public async Task DisposeRacingCalls_NeverCrashes()
    {
        // A handle disposed on one thread while others call through it: every call either completes or throws
        // ObjectDisposedException; the SafeHandle reference count keeps the native handle alive under a running call.
        for (var round = 0; round < 20; round++)
        {
            using var vd = VDevice.Open();
            var model = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
            var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                var o0 = new byte[160];
                var o1 = new byte[16];
                for (var i = 0; i < 200; i++)
                {
                    try
                    {
                        model.Infer([new byte[240]], [o0, o1]);
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            })).ToArray();
            Thread.Sleep(1);
            model.Dispose();
            await Task.WhenAll(workers);
        }
    }

    [Fact]
    public void AnUndisposedHandle_IsReleasedByItsFinalizer()
    {
        OpenAndDrop();
        // While that SHARED VDevice is alive, "UNIQUE" fails; the SafeHandle finalizer must release it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var unique = VDevice.Open(VDevice.UniqueGroup);
        Assert.Equal(VDevice.UniqueGroup, unique.GroupId);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenAndDrop()
    {
        var vd = VDevice.Open();
        Assert.Throws<HailoException>(() => VDevice.Open(VDevice.UniqueGroup));
        GC.KeepAlive(vd);
    }
}
