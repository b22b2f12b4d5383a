using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

/// <summary>
/// Vector (256- and 512-bit) and scalar math helpers for generated element-wise functors. T is float or double;
/// the <c>typeof(T)</c> tests are folded by the JIT, so each instantiation is straight-line SIMD code.
/// </summary>
public static partial class VMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return ExpF(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.Exp(x.AsDouble()).As<double, T>();
        return Scalar(x, static v => T.Exp(v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector256.Log(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.Log(x.AsDouble()).As<double, T>();
        return Scalar(x, static v => T.Log(v));
    }

    /// <summary>1/(1+e^−x): e^−x overflows to +inf for very negative x, giving exactly 0; no NaN for any finite x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Sigmoid<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var one = Vector256<T>.One;
        return one / (one + Exp(-x));
    }

    /// <summary>
    /// tanh: 1 − 2/(e^{2x}+1) for |x| ≥ 0.625 (saturates cleanly to ±1, no overflow NaN), and the
    /// Cephes odd rational/polynomial approximation below 0.625 where that form would lose relative accuracy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Tanh<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return TanhF(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return TanhD(x.AsDouble()).As<double, T>();
        return Scalar(x, static v => T.Tanh(v));
    }

    private static Vector256<float> TanhF(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var big = one - Vector256.Create(2f) / (ExpF(x + x) + one);
        var z = x * x;
        var p = Vector256.Create(-5.70498872745E-3f);
        p = p * z + Vector256.Create(2.06390887954E-2f);
        p = p * z + Vector256.Create(-5.37397155531E-2f);
        p = p * z + Vector256.Create(1.33314422036E-1f);
        p = p * z + Vector256.Create(-3.33332819422E-1f);
        var small = p * z * x + x;
        var isSmall = Vector256.LessThan(Vector256.Abs(x), Vector256.Create(0.625f));
        return Vector256.ConditionalSelect(isSmall, small, big);
    }

    private static Vector256<double> TanhD(Vector256<double> x)
    {
        var one = Vector256<double>.One;
        var big = one - Vector256.Create(2.0) / (Vector256.Exp(x + x) + one);
        var z = x * x;
        var p = Vector256.Create(-9.64399179425052238628E-1);
        p = p * z + Vector256.Create(-9.92877231001918586564E1);
        p = p * z + Vector256.Create(-1.61468768441708447952E3);
        var q = z + Vector256.Create(1.12811678491632931402E2);
        q = q * z + Vector256.Create(2.23548839060100448583E3);
        q = q * z + Vector256.Create(4.84406305325125486048E3);
        var small = x + x * (z * p / q);
        var isSmall = Vector256.LessThan(Vector256.Abs(x), Vector256.Create(0.625));
        return Vector256.ConditionalSelect(isSmall, small, big);
    }

    // ---- exp for float vectors, written out: Vector256.Exp/Vector512.Exp of the base library compute through generic
    // double-precision helpers (VectorMath.ExpSingle, Widen, Narrow) that stay tier-0 code for a long time when called from
    // our kernels, and are about 1.4x slower than this even once optimized (measured 2026-12-07, .NET 10: sigmoid over 64 K
    // floats, 7x slower for the first ~1,000 calls). Cephes-style: range reduction by n·ln 2 (ln 2 split in two), a
    // degree-6 polynomial, 2^n built in the exponent bits; about 2 ulp on [−87.3, 88.7]. Above 88.72 it is +∞ and below
    // −87.34 it is 0 (the BCL gives denormals down to −103.3), NaN stays NaN: sigmoid's 1/(1+e^−x) still reaches exactly 0.

    /// <summary>e^x for 16 floats (see the note above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpF(Vector512<float> x)
    {
        var lo = Vector512.Create(-87.33654f);
        var hi = Vector512.Create(88.72283f);
        var xc = Vector512.Min(Vector512.Max(x, lo), hi);
        // n ≤ 127 keeps 2^n finite: for x in (87.7, 88.7] r then reaches 0.69 instead of 0.35 (less accurate, still finite)
        var n = Vector512.Min(Vector512.Round(xc * Vector512.Create(1.44269504088896341f)), Vector512.Create(127f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var e = p * ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
        e = Vector512.ConditionalSelect(Vector512.LessThan(x, lo), Vector512<float>.Zero, e);
        e = Vector512.ConditionalSelect(Vector512.GreaterThan(x, hi), Vector512.Create(float.PositiveInfinity), e);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), e, x);
    }

    /// <summary>e^x for 8 floats: <see cref="ExpF(Vector512{float})"/> on 256-bit vectors (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpF(Vector256<float> x)
    {
        var lo = Vector256.Create(-87.33654f);
        var hi = Vector256.Create(88.72283f);
        var xc = Vector256.Min(Vector256.Max(x, lo), hi);
        var n = Vector256.Min(Vector256.Round(xc * Vector256.Create(1.44269504088896341f)), Vector256.Create(127f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var e = p * ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
        e = Vector256.ConditionalSelect(Vector256.LessThan(x, lo), Vector256<float>.Zero, e);
        e = Vector256.ConditionalSelect(Vector256.GreaterThan(x, hi), Vector256.Create(float.PositiveInfinity), e);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), e, x);
    }

    // ---- 512-bit forms (AVX-512): the same formulas

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return ExpF(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.AsDouble()).As<double, T>();
        return Vector512.Create(Exp(x.GetLower()), Exp(x.GetUpper()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector512.Log(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Log(x.AsDouble()).As<double, T>();
        return Vector512.Create(Log(x.GetLower()), Log(x.GetUpper()));
    }

    /// <summary>1/(1+e^−x): e^−x overflows to +inf for very negative x, giving exactly 0; no NaN for any finite x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sigmoid<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var one = Vector512<T>.One;
        return one / (one + Exp(-x));
    }

    /// <summary>
    /// tanh: 1 − 2/(e^{2x}+1) for |x| ≥ 0.625 (saturates cleanly to ±1, no overflow NaN), and the
    /// Cephes odd rational/polynomial approximation below 0.625 where that form would lose relative accuracy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return TanhF512(x.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return TanhD512(x.AsDouble()).As<double, T>();
        return Vector512.Create(Tanh(x.GetLower()), Tanh(x.GetUpper()));
    }

    private static Vector512<float> TanhF512(Vector512<float> x)
    {
        var one = Vector512<float>.One;
        var big = one - Vector512.Create(2f) / (ExpF(x + x) + one);
        var z = x * x;
        var p = Vector512.Create(-5.70498872745E-3f);
        p = p * z + Vector512.Create(2.06390887954E-2f);
        p = p * z + Vector512.Create(-5.37397155531E-2f);
        p = p * z + Vector512.Create(1.33314422036E-1f);
        p = p * z + Vector512.Create(-3.33332819422E-1f);
        var small = p * z * x + x;
        var isSmall = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.625f));
        return Vector512.ConditionalSelect(isSmall, small, big);
    }

    private static Vector512<double> TanhD512(Vector512<double> x)
    {
        var one = Vector512<double>.One;
        var big = one - Vector512.Create(2.0) / (Vector512.Exp(x + x) + one);
        var z = x * x;
        var p = Vector512.Create(-9.64399179425052238628E-1);
        p = p * z + Vector512.Create(-9.92877231001918586564E1);
        p = p * z + Vector512.Create(-1.61468768441708447952E3);
        var q = z + Vector512.Create(1.12811678491632931402E2);
        q = q * z + Vector512.Create(2.23548839060100448583E3);
        q = q * z + Vector512.Create(4.84406305325125486048E3);
        var small = x + x * (z * p / q);
        var isSmall = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.625));
        return Vector512.ConditionalSelect(isSmall, small, big);
    }

    // ---- scalar counterparts (same formulas' semantics, computed with the BCL scalar functions)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.Log(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.Tanh(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary>max(x, 0) for vectors and scalars (NaN-propagation not guaranteed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Relu<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Vector256.Max(x, Vector256<T>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Relu<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Vector512.Max(x, Vector512<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Relu<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x > T.Zero ? x : T.Zero;

    private static Vector256<T> Scalar<T>(Vector256<T> x, Func<T, T> f) where T : unmanaged
    {
        Span<T> s = stackalloc T[Vector256<T>.Count];
        x.CopyTo(s);
        for (int i = 0; i < s.Length; i++) s[i] = f(s[i]);
        return Vector256.Create<T>(s);
    }
}
