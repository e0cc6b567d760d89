using Microsoft.ML.OnnxRuntime;

namespace Hailo.Runtime.Onnx;

/// <summary>
/// One ONNX Runtime session, created once and reused for every request. Sequential execution with a
/// configurable intra-op thread count, so several services can share a Pi's four cores.
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    public string Path { get; }
    public IReadOnlyList<string> InputNames { get; }
    public IReadOnlyList<string> OutputNames { get; }

    public OnnxModel(string path, int threads)
    {
        Path = path;
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Inputs change size from request to request; memory patterns would only grow the arena.
            EnableMemoryPattern = false,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{System.IO.Path.GetFileName(path)} is not a usable ONNX model: {e.Message}", e);
        }
        InputNames = _session.InputNames.ToArray();
        OutputNames = _session.OutputNames.ToArray();
    }

    /// <summary>Shape of an input as the model declares it (-1 for dynamic dimensions).</summary>
    public long[] InputShape(int index) => _session.InputMetadata[InputNames[index]].Dimensions.Select(d => (long)d).ToArray();

    /// <summary>Shape of an output as the model declares it (-1 for dynamic dimensions).</summary>
    public long[] OutputShape(int index) => _session.OutputMetadata[OutputNames[index]].Dimensions.Select(d => (long)d).ToArray();

    /// <summary>Runs the model on one float input and returns the first output as a float tensor.</summary>
    public FloatTensor Run(float[] input, long[] shape)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var outputs = _session.Run(_runOptions, [InputNames[0]], [value], [OutputNames[0]]);
        var output = outputs[0];
        var outShape = output.GetTensorTypeAndShape().Shape;
        return new FloatTensor(output.GetTensorDataAsSpan<float>().ToArray(), outShape);
    }

    /// <summary>Runs the model on named float inputs and returns every requested output.</summary>
    public FloatTensor[] Run(IReadOnlyList<(string Name, float[] Data, long[] Shape)> inputs, IReadOnlyList<string> outputNames)
    {
        var values = new OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++) values[i] = OrtValue.CreateTensorValueFromMemory(inputs[i].Data, inputs[i].Shape);
            using var outputs = _session.Run(_runOptions, inputs.Select(x => x.Name).ToArray(), values, outputNames.ToArray());
            var result = new FloatTensor[outputs.Count];
            for (var i = 0; i < outputs.Count; i++)
                result[i] = new FloatTensor(outputs[i].GetTensorDataAsSpan<float>().ToArray(), outputs[i].GetTensorTypeAndShape().Shape);
            return result;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    /// <summary>Runs the model on named inputs of any element type it takes (float or int64) and returns every
    /// requested output as a float tensor.</summary>
    public FloatTensor[] Run(IReadOnlyList<OnnxInput> inputs, IReadOnlyList<string> outputNames)
    {
        var values = new OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++) values[i] = inputs[i].ToOrtValue();
            using var outputs = _session.Run(_runOptions, inputs.Select(x => x.Name).ToArray(), values, outputNames.ToArray());
            var result = new FloatTensor[outputs.Count];
            for (var i = 0; i < outputs.Count; i++)
                result[i] = new FloatTensor(outputs[i].GetTensorDataAsSpan<float>().ToArray(), outputs[i].GetTensorTypeAndShape().Shape);
            return result;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}

/// <summary>A dense float tensor: data in row-major order and its shape.</summary>
public sealed record FloatTensor(float[] Data, long[] Shape)
{
    public int Dim(int i) => (int)Shape[i];
}

/// <summary>A named input tensor for <see cref="OnnxModel.Run(IReadOnlyList{OnnxInput}, IReadOnlyList{string})"/>:
/// float or int64 elements in row-major order and its shape.</summary>
public sealed class OnnxInput
{
    private readonly float[]? _floats;
    private readonly long[]? _int64s;
    private readonly bool[]? _bools;

    private OnnxInput(string name, float[]? floats, long[]? int64s, long[] shape, bool[]? bools = null)
    {
        Name = name;
        _floats = floats;
        _int64s = int64s;
        _bools = bools;
        Shape = shape;
    }

    public string Name { get; }
    public long[] Shape { get; }

    public static OnnxInput Float(string name, float[] data, long[] shape) => new(name, data, null, shape);
    public static OnnxInput Int64(string name, long[] data, long[] shape) => new(name, null, data, shape);
    /// <summary>A boolean tensor (e.g. the <c>use_cache_branch</c> flag of a merged decoder).</summary>
    public static OnnxInput Bool(string name, bool[] data, long[] shape) => new(name, null, null, shape, data);

    internal OrtValue ToOrtValue() => _floats is not null
        ? OrtValue.CreateTensorValueFromMemory(_floats, Shape)
        : _bools is not null
            ? OrtValue.CreateTensorValueFromMemory(_bools, Shape)
            : OrtValue.CreateTensorValueFromMemory(_int64s!, Shape);
}
