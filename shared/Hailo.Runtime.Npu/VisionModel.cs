using System.Buffers;
using System.Runtime.CompilerServices;

namespace Hailo.Runtime.Npu;

/// <summary>
/// A configured vision model (HailoRT InferModel): stream metadata and synchronous inference on caller-owned
/// buffers. Calls may come from several threads; HailoRT runs one frame of a model at a time.
/// </summary>
public sealed unsafe class VisionModel : IDisposable
{
    private const int StackBuffers = 8;
    private readonly ModelHandle _handle;
    private readonly long[] _inputSizes;
    private readonly long[] _outputSizes;

    private VisionModel(ModelHandle handle, string hefPath, NpuStreamInfo[] inputs, NpuStreamInfo[] outputs)
    {
        _handle = handle;
        HefPath = hefPath;
        Inputs = inputs;
        Outputs = outputs;
        _inputSizes = Array.ConvertAll(inputs, s => s.FrameSize);
        _outputSizes = Array.ConvertAll(outputs, s => s.FrameSize);
    }

    public string HefPath { get; }
    public IReadOnlyList<NpuStreamInfo> Inputs { get; }
    public IReadOnlyList<NpuStreamInfo> Outputs { get; }

    /// <summary>Loads and configures a HEF on the VDevice (with the fake backend: a JSON model description).</summary>
    public static VisionModel Load(VDevice vdevice, string hefPath, VisionModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        ArgumentException.ThrowIfNullOrEmpty(hefPath);
        NpuRuntime.EnsureLoaded();
        options ??= new VisionModelOptions();
        var p = NativeMethods.hs_model_default_params();
        p.BatchSize = checked((uint)options.BatchSize);
        p.InputFormatType = (int)options.InputFormat;
        p.OutputFormatType = (int)options.OutputFormat;
        p.SchedulerPriority = options.SchedulerPriority;
        p.SchedulerThreshold = checked((uint)options.SchedulerThreshold);
        if (options.SchedulerTimeout is { } t) p.SchedulerTimeoutMs = Shim.TimeoutMs(t);
        if (options.NmsScoreThreshold is { } s) p.NmsScoreThreshold = s;
        if (options.NmsIouThreshold is { } iou) p.NmsIouThreshold = iou;
        p.NmsMaxProposalsPerClass = checked((uint)options.NmsMaxProposalsPerClass);
        p.NmsMaxProposalsTotal = checked((uint)options.NmsMaxProposalsTotal);

        var st = NativeMethods.hs_model_load(vdevice.Handle, hefPath, &p, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        try
        {
            uint nIn, nOut;
            Shim.Check(NativeMethods.hs_model_io_count(handle, &nIn, &nOut));
            var inputs = new NpuStreamInfo[nIn];
            var outputs = new NpuStreamInfo[nOut];
            for (var i = 0u; i < nIn; i++) inputs[i] = ReadInfo(handle, false, i);
            for (var i = 0u; i < nOut; i++) outputs[i] = ReadInfo(handle, true, i);
            return new VisionModel(handle, hefPath, inputs, outputs);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static NpuStreamInfo ReadInfo(ModelHandle handle, bool output, uint index)
    {
        HsIoInfo info;
        Shim.Check(NativeMethods.hs_model_io_info(handle, output ? 1 : 0, index, &info));
        var count = Math.Max(1u, info.QuantCount);
        var q = new HsQuant[count];
        uint got;
        fixed (HsQuant* pq = q) Shim.Check(NativeMethods.hs_model_quant_infos(handle, output ? 1 : 0, index, pq, count, &got));
        var quant = new QuantInfo[got];
        for (var k = 0; k < got; k++) quant[k] = new QuantInfo(q[k].QpScale, q[k].QpZp, q[k].LimvalsMin, q[k].LimvalsMax);
        var nms = info.IsNms != 0
            ? new NmsShape((int)info.NmsNumberOfClasses, (int)info.NmsMaxBboxesPerClass, (int)info.NmsMaxBboxesTotal, (int)info.NmsMaxAccumulatedMaskSize)
            : null;
        return new NpuStreamInfo(FixedString.Read(info.Name, 128), (int)info.Height, (int)info.Width, (int)info.Features,
            (NpuFormatType)info.FormatType, (NpuFormatOrder)info.FormatOrder, checked((long)info.FrameSize), quant, nms);
    }

    /// <summary>
    /// One frame of a model with one input and one output, on caller-owned buffers (pinned for the call, never
    /// copied here). Sizes must equal the streams' frame sizes. Allocation-free.
    /// </summary>
    /// <param name="timeout">null = the shim's default (10 s); <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</param>
    public void Infer(ReadOnlySpan<byte> input, Span<byte> output, TimeSpan? timeout = null)
    {
        CheckCounts(1, 1);
        CheckSize("input", 0, input.Length, _inputSizes[0]);
        CheckSize("output", 0, output.Length, _outputSizes[0]);
        var timeoutMs = Shim.TimeoutMs(timeout);
        fixed (byte* pin = input)
        fixed (byte* pout = output)
        {
            void* i = pin, o = pout;
            nuint si = (nuint)input.Length, so = (nuint)output.Length;
            Shim.Check(NativeMethods.hs_model_infer(_handle, &i, &si, 1, &o, &so, 1, timeoutMs));
        }
    }

    /// <summary>
    /// One frame with any number of inputs and outputs (in <see cref="Inputs"/>/<see cref="Outputs"/> order). The
    /// memories are pinned for the call; <see cref="NpuBuffer"/> memory is page-aligned native memory and needs no
    /// pinning. Allocation-free for up to 8 streams each way.
    /// </summary>
    public void Infer(ReadOnlySpan<ReadOnlyMemory<byte>> inputs, ReadOnlySpan<Memory<byte>> outputs, TimeSpan? timeout = null)
    {
        CheckCounts(inputs.Length, outputs.Length);
        for (var k = 0; k < inputs.Length; k++) CheckSize("input", k, inputs[k].Length, _inputSizes[k]);
        for (var k = 0; k < outputs.Length; k++) CheckSize("output", k, outputs[k].Length, _outputSizes[k]);
        var timeoutMs = Shim.TimeoutMs(timeout);

        int nIn = inputs.Length, nOut = outputs.Length, total = nIn + nOut;
        var pins = new PinBuffer();
        Span<MemoryHandle> handles = pins;
        if (total > StackBuffers) handles = new MemoryHandle[total];
        var ptrs = stackalloc void*[total];
        var sizes = stackalloc nuint[total];
        try
        {
            for (var k = 0; k < nIn; k++)
            {
                handles[k] = inputs[k].Pin();
                ptrs[k] = handles[k].Pointer;
                sizes[k] = (nuint)inputs[k].Length;
            }
            for (var k = 0; k < nOut; k++)
            {
                handles[nIn + k] = outputs[k].Pin();
                ptrs[nIn + k] = handles[nIn + k].Pointer;
                sizes[nIn + k] = (nuint)outputs[k].Length;
            }
            Shim.Check(NativeMethods.hs_model_infer(_handle, ptrs, sizes, (uint)nIn, ptrs + nIn, sizes + nIn, (uint)nOut, timeoutMs));
        }
        finally
        {
            for (var k = 0; k < total; k++) handles[k].Dispose();
        }
    }

    /// <summary>Runs a one-input model and returns every output in a newly allocated <see cref="NpuTensor"/>.</summary>
    public NpuTensor[] InferTensors(ReadOnlySpan<byte> input, TimeSpan? timeout = null)
    {
        CheckCounts(1, Outputs.Count);
        var tensors = AllocateOutputs();
        if (tensors.Length == 1)
        {
            Infer(input, tensors[0].Data, timeout);
            return tensors;
        }
        fixed (byte* p = input)
        {
            using var owner = new PointerMemory(p, input.Length);
            Infer([owner.Memory], Array.ConvertAll(tensors, t => new Memory<byte>(t.Data)), timeout);
        }
        return tensors;
    }

    /// <summary>Runs the model on several inputs and returns every output in a newly allocated <see cref="NpuTensor"/>.</summary>
    public NpuTensor[] InferTensors(ReadOnlySpan<ReadOnlyMemory<byte>> inputs, TimeSpan? timeout = null)
    {
        var tensors = AllocateOutputs();
        Infer(inputs, Array.ConvertAll(tensors, t => new Memory<byte>(t.Data)), timeout);
        return tensors;
    }

    private NpuTensor[] AllocateOutputs()
    {
        var tensors = new NpuTensor[Outputs.Count];
        for (var k = 0; k < tensors.Length; k++)
            tensors[k] = new NpuTensor(Outputs[k], GC.AllocateUninitializedArray<byte>(checked((int)Outputs[k].FrameSize)));
        return tensors;
    }

    private void CheckCounts(int nIn, int nOut)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (nIn != _inputSizes.Length || nOut != _outputSizes.Length)
            throw new ArgumentException($"{Path.GetFileName(HefPath)} has {_inputSizes.Length} input(s) and {_outputSizes.Length} output(s), got {nIn} and {nOut}");
    }

    private void CheckSize(string what, int index, int actual, long expected)
    {
        if (actual != expected)
        {
            var name = what == "input" ? Inputs[index].Name : Outputs[index].Name;
            throw new ArgumentException($"{what} {index} ('{name}') buffer is {actual} bytes; its frame size is {expected}");
        }
    }

    public void Dispose() => _handle.Dispose();

    [InlineArray(StackBuffers)]
    private struct PinBuffer
    {
        private MemoryHandle _element;
    }

    // Wraps an already pinned pointer as Memory so the span overloads can share the multi-stream path.
    private sealed class PointerMemory(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
