using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// The primitives of the activation expressions (Ops/Px.cs) that neither T nor Vector256/512 nor MathF has: erf/erfc, the
// normal CDF Φ and log1p, in four forms (one template per width): Vector256<T>, Vector512<T>, scalar T, and float with a Gpu
// suffix (plain code ILGPU compiles: no arrays, no generics). The activations themselves are written from their expressions.
public static partial class VMath
{
    // ---------------------------------------------------------------- Vector256<T>
    /// <summary>erfc(z) for z ≥ 0: Chebyshev fit (Numerical Recipes 3rd ed., Erf::erfccheb), relative error below 1e-14 in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ErfcNonNegative<T>(Vector256<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var two = Vector256.Create(T.CreateChecked(2.0));
        var t = two / (two + z);
        var ty = Vector256.Create(T.CreateChecked(4.0)) * t - two;
        var d = Vector256<T>.Zero; var dd = Vector256<T>.Zero; Vector256<T> tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-2.8e-17)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(1.21e-16)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-9.4e-17)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-1.523e-15)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(7.106e-15)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(3.81e-16)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-1.12708e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(3.13092e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(8.94487e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-6.886027e-12)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(2.394038e-12)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(9.6467911e-11)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-2.27365122e-10)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-9.91364156e-10)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(5.059343495e-09)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(6.529054439e-09)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-8.5238095915e-08)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(1.5626441722e-08)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(1.30365583558e-06)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-1.624290004647e-06)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-2.0278578112534e-05)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(4.2523324806907e-05)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(0.000366839497852761)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-0.000946595344482036)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(-0.00956151478680863)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(0.019476473204185836)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector256.Create(T.CreateChecked(0.6419697923564902)); dd = tmp;
        return t * Exp(-z * z + Vector256.Create(T.CreateChecked(0.5)) * (Vector256.Create(T.CreateChecked(-1.3026537197817094)) + ty * d) - dd);
    }

    /// <summary>erf(x) = sign(x)·(1 − erfc(|x|)), vectorized (absolute error below 1e-15 in double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Erf<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = Vector256<T>.One - ErfcNonNegative(Vector256.Abs(x));
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), -r, r);
    }

    /// <summary>Φ(x) = ½(1 + erf(x/√2)), from erfc on the negative side (no cancellation in the left tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> NormalCdf<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var h = Vector256.Create(T.CreateChecked(0.5)) * ErfcNonNegative(Vector256.Abs(x) * Vector256.Create(T.CreateChecked(0.7071067811865476)));
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), h, Vector256<T>.One - h);
    }

    /// <summary>log(1 + x) without cancellation for small x (Goldberg's trick: log(u)·x/(u − 1), u = 1 + x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log1p<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var u = Vector256<T>.One + x;
        var um1 = u - Vector256<T>.One;
        var isOne = Vector256.Equals(um1, Vector256<T>.Zero);
        return Vector256.ConditionalSelect(isOne, x, Log(u) * x / Vector256.ConditionalSelect(isOne, Vector256<T>.One, um1));
    }

    // ---------------------------------------------------------------- Vector512<T>
    /// <summary>erfc(z) for z ≥ 0: Chebyshev fit (Numerical Recipes 3rd ed., Erf::erfccheb), relative error below 1e-14 in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ErfcNonNegative<T>(Vector512<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var two = Vector512.Create(T.CreateChecked(2.0));
        var t = two / (two + z);
        var ty = Vector512.Create(T.CreateChecked(4.0)) * t - two;
        var d = Vector512<T>.Zero; var dd = Vector512<T>.Zero; Vector512<T> tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-2.8e-17)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(1.21e-16)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-9.4e-17)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-1.523e-15)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(7.106e-15)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(3.81e-16)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-1.12708e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(3.13092e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(8.94487e-13)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-6.886027e-12)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(2.394038e-12)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(9.6467911e-11)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-2.27365122e-10)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-9.91364156e-10)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(5.059343495e-09)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(6.529054439e-09)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-8.5238095915e-08)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(1.5626441722e-08)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(1.30365583558e-06)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-1.624290004647e-06)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-2.0278578112534e-05)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(4.2523324806907e-05)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(0.000366839497852761)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-0.000946595344482036)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(-0.00956151478680863)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(0.019476473204185836)); dd = tmp;
        tmp = d; d = ty * d - dd + Vector512.Create(T.CreateChecked(0.6419697923564902)); dd = tmp;
        return t * Exp(-z * z + Vector512.Create(T.CreateChecked(0.5)) * (Vector512.Create(T.CreateChecked(-1.3026537197817094)) + ty * d) - dd);
    }

    /// <summary>erf(x) = sign(x)·(1 − erfc(|x|)), vectorized (absolute error below 1e-15 in double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Erf<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = Vector512<T>.One - ErfcNonNegative(Vector512.Abs(x));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -r, r);
    }

    /// <summary>Φ(x) = ½(1 + erf(x/√2)), from erfc on the negative side (no cancellation in the left tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> NormalCdf<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var h = Vector512.Create(T.CreateChecked(0.5)) * ErfcNonNegative(Vector512.Abs(x) * Vector512.Create(T.CreateChecked(0.7071067811865476)));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), h, Vector512<T>.One - h);
    }

    /// <summary>log(1 + x) without cancellation for small x (Goldberg's trick: log(u)·x/(u − 1), u = 1 + x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log1p<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var u = Vector512<T>.One + x;
        var um1 = u - Vector512<T>.One;
        var isOne = Vector512.Equals(um1, Vector512<T>.Zero);
        return Vector512.ConditionalSelect(isOne, x, Log(u) * x / Vector512.ConditionalSelect(isOne, Vector512<T>.One, um1));
    }

    // ---------------------------------------------------------------- scalar T
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T ErfcNonNegative<T>(T z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T two = T.CreateChecked(2.0);
        T t = two / (two + z);
        T ty = T.CreateChecked(4.0) * t - two;
        T d = T.Zero, dd = T.Zero, tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-2.8e-17); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(1.21e-16); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-9.4e-17); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-1.523e-15); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(7.106e-15); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(3.81e-16); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-1.12708e-13); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(3.13092e-13); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(8.94487e-13); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-6.886027e-12); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(2.394038e-12); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(9.6467911e-11); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-2.27365122e-10); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-9.91364156e-10); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(5.059343495e-09); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(6.529054439e-09); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-8.5238095915e-08); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(1.5626441722e-08); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(1.30365583558e-06); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-1.624290004647e-06); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-2.0278578112534e-05); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(4.2523324806907e-05); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(0.000366839497852761); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-0.000946595344482036); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(-0.00956151478680863); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(0.019476473204185836); dd = tmp;
        tmp = d; d = ty * d - dd + T.CreateChecked(0.6419697923564902); dd = tmp;
        return t * T.Exp(-z * z + T.CreateChecked(0.5) * (T.CreateChecked(-1.3026537197817094) + ty * d) - dd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Erf<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T r = T.One - ErfcNonNegative(T.Abs(x));
        return x < T.Zero ? -r : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T NormalCdf<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T h = T.CreateChecked(0.5) * ErfcNonNegative(T.Abs(x) * T.CreateChecked(0.7071067811865476));
        return x < T.Zero ? h : T.One - h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log1p<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T u = T.One + x;
        T um1 = u - T.One;
        return um1 == T.Zero ? x : T.Log(u) * x / um1;
    }

    // ---------------------------------------------------------------- scalar float (ILGPU: plain code, constants inline)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ErfcNonNegativeGpu(float z)
    {
        float two = 2.0f;
        float t = two / (two + z);
        float ty = 4.0f * t - two;
        float d = 0f, dd = 0f, tmp;
        tmp = d; d = ty * d - dd + -2.8e-17f; dd = tmp;
        tmp = d; d = ty * d - dd + 1.21e-16f; dd = tmp;
        tmp = d; d = ty * d - dd + -9.4e-17f; dd = tmp;
        tmp = d; d = ty * d - dd + -1.523e-15f; dd = tmp;
        tmp = d; d = ty * d - dd + 7.106e-15f; dd = tmp;
        tmp = d; d = ty * d - dd + 3.81e-16f; dd = tmp;
        tmp = d; d = ty * d - dd + -1.12708e-13f; dd = tmp;
        tmp = d; d = ty * d - dd + 3.13092e-13f; dd = tmp;
        tmp = d; d = ty * d - dd + 8.94487e-13f; dd = tmp;
        tmp = d; d = ty * d - dd + -6.886027e-12f; dd = tmp;
        tmp = d; d = ty * d - dd + 2.394038e-12f; dd = tmp;
        tmp = d; d = ty * d - dd + 9.6467911e-11f; dd = tmp;
        tmp = d; d = ty * d - dd + -2.27365122e-10f; dd = tmp;
        tmp = d; d = ty * d - dd + -9.91364156e-10f; dd = tmp;
        tmp = d; d = ty * d - dd + 5.059343495e-09f; dd = tmp;
        tmp = d; d = ty * d - dd + 6.529054439e-09f; dd = tmp;
        tmp = d; d = ty * d - dd + -8.5238095915e-08f; dd = tmp;
        tmp = d; d = ty * d - dd + 1.5626441722e-08f; dd = tmp;
        tmp = d; d = ty * d - dd + 1.30365583558e-06f; dd = tmp;
        tmp = d; d = ty * d - dd + -1.624290004647e-06f; dd = tmp;
        tmp = d; d = ty * d - dd + -2.0278578112534e-05f; dd = tmp;
        tmp = d; d = ty * d - dd + 4.2523324806907e-05f; dd = tmp;
        tmp = d; d = ty * d - dd + 0.000366839497852761f; dd = tmp;
        tmp = d; d = ty * d - dd + -0.000946595344482036f; dd = tmp;
        tmp = d; d = ty * d - dd + -0.00956151478680863f; dd = tmp;
        tmp = d; d = ty * d - dd + 0.019476473204185836f; dd = tmp;
        tmp = d; d = ty * d - dd + 0.6419697923564902f; dd = tmp;
        return t * MathF.Exp(-z * z + 0.5f * (-1.3026537197817094f + ty * d) - dd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ErfGpu(float x)
    {
        float r = 1f - ErfcNonNegativeGpu(MathF.Abs(x));
        return x < 0f ? -r : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float NormalCdfGpu(float x)
    {
        float h = 0.5f * ErfcNonNegativeGpu(MathF.Abs(x) * 0.7071067811865476f);
        return x < 0f ? h : 1f - h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log1pGpu(float x)
    {
        float u = 1f + x;
        float um1 = u - 1f;
        return um1 == 0f ? x : MathF.Log(u) * x / um1;
    }

}
