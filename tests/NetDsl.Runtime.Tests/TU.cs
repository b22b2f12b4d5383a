using System.Numerics;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime.Tests;

internal static class TU
{
    public const double Guard = 777.0;

    /// <summary>A random tensor in [-1, 1) that is a view at a random offset into a larger storage filled with <see cref="Guard"/>.</summary>
    public static Tensor<T> Rand<T>(Random rng, params int[] shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var t = Empty<T>(rng, shape);
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>A view full of NaN (so a kernel that fails to overwrite shows up), surrounded by guard values.</summary>
    public static Tensor<T> Empty<T>(Random rng, params int[] shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int off = rng.Next(0, 7), n = Tensor<T>.ShapeLength(shape);
        var storage = Tensor<T>.Zeros(n + off + rng.Next(0, 5));
        storage.AsSpan().Fill(T.CreateChecked(Guard));
        var t = storage.View(off, shape);
        t.AsSpan().Fill(T.NaN);
        return t;
    }

    public static Tensor<T> From<T>(Random rng, double[] data, params int[] shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var t = Empty<T>(rng, shape);
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(data[i]);
        return t;
    }

    public static Tensor<T> Convert<T>(Random rng, Tensor<double> src) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => From<T>(rng, D(src), src.Shape);

    public static double[] D<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = t.AsSpan();
        var r = new double[s.Length];
        for (int i = 0; i < r.Length; i++) r[i] = double.CreateChecked(s[i]);
        return r;
    }

    public static double[] RandArray(Random rng, int n)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = rng.NextDouble() * 2 - 1;
        return r;
    }

    /// <summary>Asserts the storage around a view still holds the guard value (nothing written out of bounds).</summary>
    public static void CheckGuards<T>(Tensor<T> t) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var all = t.HostArray;
        for (int i = 0; i < all.Length; i++)
            if (i < t.Offset || i >= t.Offset + t.Length)
                Assert.True(double.CreateChecked(all[i]) == Guard, $"write outside the view at storage index {i} (view {t.Offset}..{t.Offset + t.Length})");
    }

    public static void Close(double[] expected, double[] actual, double rtol, double atol = 0, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (var e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = atol + rtol * Math.Max(scale, 1e-30);
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
                Assert.Fail($"{what} element {i}: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol:G3})");
        }
    }

    public static void Close<T>(double[] expected, Tensor<T> actual, double rtol, string what = "") where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Close(expected, D(actual), rtol, 0, what);
        CheckGuards(actual);
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>
    /// Central-difference check of <paramref name="analytic"/> = d(r·forward())/d(input) for every element of
    /// <paramref name="input"/> (at most <paramref name="maxChecks"/> random ones), plus a random directional derivative.
    /// </summary>
    public static void GradCheck(Random rng, Tensor<double> input, Func<double[]> forward, double[] r, double[] analytic,
        double eps = 1e-6, double rtol = 1e-6, int maxChecks = 400)
    {
        var x = input.AsSpan();
        Assert.Equal(x.Length, analytic.Length);
        double scale = 1;
        foreach (var a in analytic) scale = Math.Max(scale, Math.Abs(a));
        int n = x.Length;
        var idx = Enumerable.Range(0, n).ToArray();
        if (n > maxChecks) { rng.Shuffle(idx); idx = idx[..maxChecks]; }
        foreach (int i in idx)
        {
            double v = x[i];
            x[i] = v + eps; double fp = Dot(r, forward());
            x[i] = v - eps; double fm = Dot(r, forward());
            x[i] = v;
            double num = (fp - fm) / (2 * eps);
            Assert.True(Math.Abs(num - analytic[i]) <= rtol * scale,
                $"gradient element {i}: finite difference {num:R}, backward {analytic[i]:R}");
        }
        // directional derivative along a random u
        var u = RandArray(rng, n);
        var x0 = x.ToArray();
        for (int i = 0; i < n; i++) x[i] = x0[i] + eps * u[i];
        double dp = Dot(r, forward());
        for (int i = 0; i < n; i++) x[i] = x0[i] - eps * u[i];
        double dm = Dot(r, forward());
        x0.CopyTo(x);
        double dnum = (dp - dm) / (2 * eps), dana = Dot(u, analytic);
        Assert.True(Math.Abs(dnum - dana) <= rtol * Math.Max(1, Math.Abs(dana)) * 10,
            $"directional derivative: finite difference {dnum:R}, backward {dana:R}");
    }

    public static void ThrowsShapes(Action a, string expectedShape, string actualShape)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(a);
        Assert.Contains(expectedShape, ex.Message);
        Assert.Contains(actualShape, ex.Message);
    }
}

// ---- functors used as epilogues and element-wise ops (GPU forms implemented explicitly, so the two Apply(float) never clash)
internal readonly struct ReluOp<T> : IMap1<T>, IGpuMap1 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a) => VMath.Relu(a);
    public Vector256<T> Apply(Vector256<T> a) => VMath.Relu(a);
    public Vector512<T> Apply(Vector512<T> a) => VMath.Relu(a);
    float IGpuMap1.Apply(float a) => MathF.Max(a, 0);
}

internal readonly struct TanhOp<T> : IMap1<T>, IGpuMap1 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a) => VMath.Tanh(a);
    public Vector256<T> Apply(Vector256<T> a) => VMath.Tanh(a);
    public Vector512<T> Apply(Vector512<T> a) => VMath.Tanh(a);
    float IGpuMap1.Apply(float a) => MathF.Tanh(a);
}

internal readonly struct MulAddOp<T> : IMap2<T>, IGpuMap2 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a, T b) => a * b + a;
    public Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b + a;
    public Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a * b + a;
    float IGpuMap2.Apply(float a, float b) => a * b + a;
}

internal readonly struct Fma3Op<T> : IMap3<T>, IGpuMap3 where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Apply(T a, T b, T c) => a * b - c;
    public Vector256<T> Apply(Vector256<T> a, Vector256<T> b, Vector256<T> c) => a * b - c;
    public Vector512<T> Apply(Vector512<T> a, Vector512<T> b, Vector512<T> c) => a * b - c;
    float IGpuMap3.Apply(float a, float b, float c) => a * b - c;
}
