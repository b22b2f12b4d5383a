using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Math for the activations of Ops/Activations.cs (generated from one template per width): erf/erfc, the normal CDF, log1p, and
// the forward and gradient of ELU, GELU (exact and tanh), SiLU, softplus and hardsigmoid, in four forms: Vector256<T>,
// Vector512<T>, scalar T, and float with a Gpu suffix (plain code ILGPU compiles: no arrays, no generics).
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

    /// <summary>ELU: x if x &gt; 0 else α(eˣ − 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Elu<T>(Vector256<T> x, Vector256<T> alpha) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), x, alpha * (Exp(Vector256.Min(x, Vector256<T>.Zero)) - Vector256<T>.One));

    /// <summary>GELU (exact): x·Φ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Gelu<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * NormalCdf(x);

    /// <summary>dGELU: dy·(Φ(x) + x·φ(x)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> GeluGrad<T>(Vector256<T> dy, Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        dy * (NormalCdf(x) + x * Vector256.Create(T.CreateChecked(0.3989422804014327)) * Exp(Vector256.Create(T.CreateChecked(-0.5)) * x * x));

    /// <summary>GELU (tanh approximation): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> GeluTanh<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector256.Create(T.CreateChecked(0.5)) * x * (Vector256<T>.One + Tanh(Vector256.Create(T.CreateChecked(0.7978845608028654)) * (x + Vector256.Create(T.CreateChecked(0.044715)) * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> GeluTanhGrad<T>(Vector256<T> dy, Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var th = Tanh(Vector256.Create(T.CreateChecked(0.7978845608028654)) * (x + Vector256.Create(T.CreateChecked(0.044715)) * x * x * x));
        var du = Vector256.Create(T.CreateChecked(0.7978845608028654)) * (Vector256<T>.One + Vector256.Create(T.CreateChecked(0.134145)) * x * x);
        return dy * Vector256.Create(T.CreateChecked(0.5)) * (Vector256<T>.One + th + x * (Vector256<T>.One - th * th) * du);
    }

    /// <summary>SiLU (swish): x·σ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Silu<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * Sigmoid(x);

    /// <summary>dSiLU: dy·σ(x)(1 + x(1 − σ(x))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SiluGrad<T>(Vector256<T> dy, Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = Sigmoid(x);
        return dy * s * (Vector256<T>.One + x * (Vector256<T>.One - s));
    }

    /// <summary>Softplus (PyTorch): x where βx &gt; threshold, else log(1 + e^(βx))/β, computed as max(z, 0) + log1p(e^(−|z|)), z = βx.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Softplus<T>(Vector256<T> x, Vector256<T> beta, Vector256<T> threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var z = beta * x;
        var soft = (Vector256.Max(z, Vector256<T>.Zero) + Log1p(Exp(-Vector256.Abs(z)))) / beta;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(z, threshold), x, soft);
    }

    /// <summary>dSoftplus: dy where βx &gt; threshold, else dy·σ(βx).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SoftplusGrad<T>(Vector256<T> dy, Vector256<T> x, Vector256<T> beta, Vector256<T> threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var z = beta * x;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(z, threshold), dy, dy * Sigmoid(z));
    }

    /// <summary>Hardsigmoid (PyTorch): clamp(x/6 + ½, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> HardSigmoid<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector256.Min(Vector256.Max(x * Vector256.Create(T.CreateChecked(0.16666666666666666)) + Vector256.Create(T.CreateChecked(0.5)), Vector256<T>.Zero), Vector256<T>.One);

    /// <summary>dHardsigmoid from the output: dy/6 where 0 &lt; y &lt; 1 (−3 &lt; x &lt; 3), else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> HardSigmoidGrad<T>(Vector256<T> dy, Vector256<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<T>.Zero) & Vector256.LessThan(y, Vector256<T>.One), dy * Vector256.Create(T.CreateChecked(0.16666666666666666)), Vector256<T>.Zero);

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

    /// <summary>ELU: x if x &gt; 0 else α(eˣ − 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Elu<T>(Vector512<T> x, Vector512<T> alpha) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), x, alpha * (Exp(Vector512.Min(x, Vector512<T>.Zero)) - Vector512<T>.One));

    /// <summary>GELU (exact): x·Φ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Gelu<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * NormalCdf(x);

    /// <summary>dGELU: dy·(Φ(x) + x·φ(x)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> GeluGrad<T>(Vector512<T> dy, Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        dy * (NormalCdf(x) + x * Vector512.Create(T.CreateChecked(0.3989422804014327)) * Exp(Vector512.Create(T.CreateChecked(-0.5)) * x * x));

    /// <summary>GELU (tanh approximation): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> GeluTanh<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector512.Create(T.CreateChecked(0.5)) * x * (Vector512<T>.One + Tanh(Vector512.Create(T.CreateChecked(0.7978845608028654)) * (x + Vector512.Create(T.CreateChecked(0.044715)) * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> GeluTanhGrad<T>(Vector512<T> dy, Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var th = Tanh(Vector512.Create(T.CreateChecked(0.7978845608028654)) * (x + Vector512.Create(T.CreateChecked(0.044715)) * x * x * x));
        var du = Vector512.Create(T.CreateChecked(0.7978845608028654)) * (Vector512<T>.One + Vector512.Create(T.CreateChecked(0.134145)) * x * x);
        return dy * Vector512.Create(T.CreateChecked(0.5)) * (Vector512<T>.One + th + x * (Vector512<T>.One - th * th) * du);
    }

    /// <summary>SiLU (swish): x·σ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Silu<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * Sigmoid(x);

    /// <summary>dSiLU: dy·σ(x)(1 + x(1 − σ(x))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SiluGrad<T>(Vector512<T> dy, Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = Sigmoid(x);
        return dy * s * (Vector512<T>.One + x * (Vector512<T>.One - s));
    }

    /// <summary>Softplus (PyTorch): x where βx &gt; threshold, else log(1 + e^(βx))/β, computed as max(z, 0) + log1p(e^(−|z|)), z = βx.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Softplus<T>(Vector512<T> x, Vector512<T> beta, Vector512<T> threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var z = beta * x;
        var soft = (Vector512.Max(z, Vector512<T>.Zero) + Log1p(Exp(-Vector512.Abs(z)))) / beta;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(z, threshold), x, soft);
    }

    /// <summary>dSoftplus: dy where βx &gt; threshold, else dy·σ(βx).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SoftplusGrad<T>(Vector512<T> dy, Vector512<T> x, Vector512<T> beta, Vector512<T> threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var z = beta * x;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(z, threshold), dy, dy * Sigmoid(z));
    }

    /// <summary>Hardsigmoid (PyTorch): clamp(x/6 + ½, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> HardSigmoid<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector512.Min(Vector512.Max(x * Vector512.Create(T.CreateChecked(0.16666666666666666)) + Vector512.Create(T.CreateChecked(0.5)), Vector512<T>.Zero), Vector512<T>.One);

    /// <summary>dHardsigmoid from the output: dy/6 where 0 &lt; y &lt; 1 (−3 &lt; x &lt; 3), else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> HardSigmoidGrad<T>(Vector512<T> dy, Vector512<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<T>.Zero) & Vector512.LessThan(y, Vector512<T>.One), dy * Vector512.Create(T.CreateChecked(0.16666666666666666)), Vector512<T>.Zero);

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Elu<T>(T x, T alpha) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x > T.Zero ? x : alpha * (T.Exp(x) - T.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Gelu<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * NormalCdf(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluGrad<T>(T dy, T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        dy * (NormalCdf(x) + x * T.CreateChecked(0.3989422804014327) * T.Exp(T.CreateChecked(-0.5) * x * x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluTanh<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        T.CreateChecked(0.5) * x * (T.One + T.Tanh(T.CreateChecked(0.7978845608028654) * (x + T.CreateChecked(0.044715) * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GeluTanhGrad<T>(T dy, T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T th = T.Tanh(T.CreateChecked(0.7978845608028654) * (x + T.CreateChecked(0.044715) * x * x * x));
        T du = T.CreateChecked(0.7978845608028654) * (T.One + T.CreateChecked(0.134145) * x * x);
        return dy * T.CreateChecked(0.5) * (T.One + th + x * (T.One - th * th) * du);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Silu<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x * (T.One / (T.One + T.Exp(-x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SiluGrad<T>(T dy, T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T s = T.One / (T.One + T.Exp(-x));
        return dy * s * (T.One + x * (T.One - s));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Softplus<T>(T x, T beta, T threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T z = beta * x;
        if (z > threshold) return x;
        return ((z > T.Zero ? z : T.Zero) + Log1p(T.Exp(-T.Abs(z)))) / beta;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SoftplusGrad<T>(T dy, T x, T beta, T threshold) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T z = beta * x;
        return z > threshold ? dy : dy * (T.One / (T.One + T.Exp(-z)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T HardSigmoid<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T y = x * T.CreateChecked(0.16666666666666666) + T.CreateChecked(0.5);
        return y < T.Zero ? T.Zero : y > T.One ? T.One : y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T HardSigmoidGrad<T>(T dy, T y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => y > T.Zero && y < T.One ? dy * T.CreateChecked(0.16666666666666666) : T.Zero;

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float EluGpu(float x, float alpha) => x > 0f ? x : alpha * (MathF.Exp(x) - 1f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluGpu(float x) => x * NormalCdfGpu(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluGradGpu(float dy, float x) =>
        dy * (NormalCdfGpu(x) + x * 0.3989422804014327f * MathF.Exp(-0.5f * x * x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluTanhGpu(float x) =>
        0.5f * x * (1f + MathF.Tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluTanhGradGpu(float dy, float x)
    {
        float th = MathF.Tanh(0.7978845608028654f * (x + 0.044715f * x * x * x));
        float du = 0.7978845608028654f * (1f + 0.134145f * x * x);
        return dy * 0.5f * (1f + th + x * (1f - th * th) * du);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SiluGpu(float x) => x * (1f / (1f + MathF.Exp(-x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SiluGradGpu(float dy, float x)
    {
        float s = 1f / (1f + MathF.Exp(-x));
        return dy * s * (1f + x * (1f - s));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusGpu(float x, float beta, float threshold)
    {
        float z = beta * x;
        if (z > threshold) return x;
        return ((z > 0f ? z : 0f) + Log1pGpu(MathF.Exp(-MathF.Abs(z)))) / beta;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusGradGpu(float dy, float x, float beta, float threshold)
    {
        float z = beta * x;
        return z > threshold ? dy : dy * (1f / (1f + MathF.Exp(-z)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HardSigmoidGpu(float x)
    {
        float y = x * 0.16666666666666666f + 0.5f;
        return y < 0f ? 0f : y > 1f ? 1f : y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HardSigmoidGradGpu(float dy, float y) => y > 0f && y < 1f ? dy * 0.16666666666666666f : 0f;
}
