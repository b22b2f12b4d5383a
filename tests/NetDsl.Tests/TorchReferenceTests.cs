using System.Numerics;
using System.Text.Json;
using NetDsl.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>
/// Generated networks against PyTorch 1.13 (an independent implementation): logits, loss and every parameter's
/// gradient for the same parameters and inputs, in fp64 (to 1e-9) and fp32 (to 1e-5 relative). The fixtures come
/// from Fixtures/make_torch_fixtures.py; parameters and inputs are computed by the same formula on both sides.
/// </summary>
public class TorchReferenceTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Cases() =>
        Fixtures().Select(f => new object[] { f.GetProperty("network").GetString()!, f.GetProperty("dtype").GetString()! });

    private static List<JsonElement> Fixtures()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch_reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_PyTorch(string network, string dtype)
    {
        var f = Fixtures().Single(x => x.GetProperty("network").GetString() == network && x.GetProperty("dtype").GetString() == dtype);
        if (dtype == "float64") Run<double>(network, f, 1e-9);
        else Run<float>(network, f, 1e-5);
    }

    private void Run<T>(string network, JsonElement f, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        NetworkBase<T> net = network switch
        {
            "LeNet5" => new LeNet5<T>(Device.Cpu),
            "AllOps" => new AllOps<T>(Device.Cpu),
            "TinyMlp" => new TinyMlp<T>(Device.Cpu),
            _ => throw new ArgumentException(network),
        };
        int k = 0;
        foreach (var p in net.Parameters)
        {
            bool bias = p.Name.EndsWith(".bias");
            double scale = bias ? 0.1 : 1 / Math.Sqrt(p.Shape.Skip(1).Aggregate(1, (a, b) => a * b));
            var v = p.Value.AsSpan();
            for (int i = 0; i < v.Length; i++) v[i] = T.CreateChecked(Math.Sin(0.731 * i + 1.37 * k) * scale);
            k++;
        }
        var shape = f.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int n = shape.Aggregate(1, (a, b) => a * b);
        var x = Tensor<T>.FromArray(Enumerable.Range(0, n).Select(i => T.CreateChecked(Math.Sin(0.1 * i) + 0.5 * Math.Cos(0.37 * i))).ToArray(), shape);
        var labels = f.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var y = Tensor<int>.FromArray(labels, labels.Length);
        net.Eval(); // PyTorch's side has no dropout

        dynamic d = net;
        T loss = d.TrainStep(x, y);
        Approx.Rel(f.GetProperty("loss").GetDouble(), double.CreateChecked(loss), tol, "loss");
        Tensor<T> logits = d.Forward(x);
        var expected = f.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var actual = logits.CopyToHost();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Approx.Rel(expected[i], double.CreateChecked(actual[i]), tol, $"logits[{i}]");

        foreach (var g in f.GetProperty("grads").EnumerateObject())
        {
            var grad = net.GetParameter(g.Name).Grad.CopyToHost().Select(double.CreateChecked).ToArray();
            double sumsq = g.Value.GetProperty("sumsq").GetDouble();
            Approx.Rel(sumsq, grad.Sum(v => v * v), tol * 10, g.Name + " sum of squares");
            Assert.True(Math.Abs(g.Value.GetProperty("sum").GetDouble() - grad.Sum()) <= tol * 10 * (1 + Math.Sqrt(sumsq * grad.Length)),
                $"{g.Name} sum: PyTorch {g.Value.GetProperty("sum").GetDouble():G10}, NetDsl {grad.Sum():G10}");
            double norm = Math.Sqrt(sumsq / grad.Length);
            foreach (var s in g.Value.GetProperty("samples").EnumerateArray())
            {
                int i = s[0].GetInt32();
                double e = s[1].GetDouble();
                Assert.True(Math.Abs(e - grad[i]) <= tol * 10 * (Math.Abs(e) + norm),
                    $"{g.Name}.grad[{i}]: PyTorch {e:G10}, NetDsl {grad[i]:G10}");
            }
        }
        output.WriteLine($"{network} {typeof(T).Name}: loss {loss} (PyTorch {f.GetProperty("loss").GetDouble()})");
    }
}
