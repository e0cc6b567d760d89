using Hailo.Runtime.Onnx;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Runtime.Tests.Onnx;

/// <summary>ONNX Runtime sessions over models the tests write themselves with <see cref="OnnxWriter"/>.</summary>
public sealed class OnnxModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Written_model_loads_and_computes_what_its_graph_says()
    {
        // y = x * 2 + b, with a dynamic batch dimension.
        var w = new OnnxWriter().Input("x", [-1, 3]).Output("y", [-1, 3]);
        var two = w.Constant([2f], [1]);
        var b = w.Constant([0.5f, -1f, 10f], [3]);
        w.Node("Add", [w.Node("Mul", ["x", two]), b], "y");
        var path = Path.Combine(_dir, "affine.onnx");
        w.Save(path);

        using var model = new OnnxModel(path, threads: 1);
        Assert.Equal(["x"], model.InputNames);
        Assert.Equal([-1L, 3], model.InputShape(0));
        var y = model.Run([1f, 2f, 3f, -1f, 0f, 1f], [2, 3]);
        Assert.Equal([2L, 3], y.Shape);
        Assert.Equal([2.5f, 3f, 16f, -1.5f, -1f, 12f], y.Data);
    }

    [Fact]
    public void Constant_output_with_a_used_input_encodes_a_known_answer()
    {
        // The shape of a detector's output, whatever the image: out = c + 0 * mean(images).
        var w = new OnnxWriter().Input("images", [1, 3, 8, 8]).Output("out", [1, 5, 4]);
        var answer = Enumerable.Range(0, 20).Select(i => i * 0.25f).ToArray();
        var c = w.Constant(answer, [1, 5, 4]);
        var mean = w.Node("ReduceMean", ["images"], attributes: [("keepdims", 0L)]); // a scalar
        var zero = w.Constant([0f], [1]);
        w.Node("Add", [c, w.Node("Mul", [mean, zero])], "out");
        var path = Path.Combine(_dir, "const.onnx");
        w.Save(path);

        using var model = new OnnxModel(path, threads: 1);
        var out1 = model.Run(new float[3 * 64], [1, 3, 8, 8]);
        Assert.Equal([1L, 5, 4], out1.Shape);
        Assert.Equal(answer, out1.Data);
    }

    [Fact]
    public void Int64_and_float_inputs_together_by_name()
    {
        // y = float(ids) * scale: an int64 input (like a TTS model's phoneme ids) next to a float one.
        var w = new OnnxWriter().Input("ids", [1, -1], OnnxWriter.Int64).Input("scale", [1]).Output("y", [1, -1]);
        w.Node("Mul", [w.Node("Cast", ["ids"], null, ("to", (long)OnnxWriter.Float)), "scale"], "y");
        var path = Path.Combine(_dir, "int64.onnx");
        w.Save(path);

        using var model = new OnnxModel(path, threads: 1);
        var y = model.Run([OnnxInput.Float("scale", [0.5f], [1]), OnnxInput.Int64("ids", [2, 4, 9], [1, 3])], ["y"]);
        Assert.Equal([1L, 3], Assert.Single(y).Shape);
        Assert.Equal([1f, 2f, 4.5f], y[0].Data);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_refused_clearly()
    {
        var path = Path.Combine(_dir, "junk.onnx");
        File.WriteAllBytes(path, "not a protobuf at all"u8.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => new OnnxModel(path, threads: 1));
        Assert.Contains("junk.onnx is not a usable ONNX model", e.Message);
    }
}
