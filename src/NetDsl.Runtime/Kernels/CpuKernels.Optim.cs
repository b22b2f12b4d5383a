using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Runtime;

// Optimizer steps in PyTorch's forms, vectorized with Vector256<T> and a scalar tail doing the same arithmetic.
public sealed partial class CpuKernels<T>
{
    public void SgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity, T lr, T momentum, T weightDecay, bool nesterov)
    {
        KernelContract.SgdStep(param, grad, velocity);
        Sgd(param.AsSpan(), grad.AsSpan(), velocity.AsSpan(), lr, momentum, weightDecay, nesterov);
    }

    private static void Sgd(Span<T> ps, Span<T> gs, Span<T> vs, T lr, T momentum, T weightDecay, bool nesterov)
    {
        ref T p = ref MemoryMarshal.GetReference(ps);
        ref T g = ref MemoryMarshal.GetReference(gs);
        ref T v = ref MemoryMarshal.GetReference(vs);
        int n = ps.Length, w = Vector256<T>.Count, i = 0;
        var vlr = Vector256.Create(lr); var vmu = Vector256.Create(momentum); var vwd = Vector256.Create(weightDecay);
        for (; i <= n - w; i += w)
        {
            var pi = Vector256.LoadUnsafe(ref p, (nuint)i);
            var gi = Vector256.LoadUnsafe(ref g, (nuint)i) + vwd * pi;
            var vi = vmu * Vector256.LoadUnsafe(ref v, (nuint)i) + gi;
            vi.StoreUnsafe(ref v, (nuint)i);
            var step = nesterov ? gi + vmu * vi : vi;
            (pi - vlr * step).StoreUnsafe(ref p, (nuint)i);
        }
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref p, i);
            T gi = Unsafe.Add(ref g, i) + weightDecay * pi;
            T vi = momentum * Unsafe.Add(ref v, i) + gi;
            Unsafe.Add(ref v, i) = vi;
            Unsafe.Add(ref p, i) = pi - lr * (nesterov ? gi + momentum * vi : vi);
        }
    }

    public void AdamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m, Tensor<T> v, T lr, T beta1, T beta2, T eps, T weightDecay, int step)
    {
        KernelContract.AdamStep(param, grad, m, v, step);
        Adam(param.AsSpan(), grad.AsSpan(), m.AsSpan(), v.AsSpan(), lr, beta1, beta2, eps, weightDecay, step);
    }

    private static void Adam(Span<T> ps, Span<T> gs, Span<T> ms, Span<T> vs, T lr, T beta1, T beta2, T eps, T weightDecay, int step)
    {
        T bc1 = T.One - T.Pow(beta1, T.CreateChecked(step));
        T bc2 = T.One - T.Pow(beta2, T.CreateChecked(step));
        T ib1 = T.One / bc1, ib2 = T.One / bc2, omb1 = T.One - beta1, omb2 = T.One - beta2;
        ref T pr = ref MemoryMarshal.GetReference(ps);
        ref T gr = ref MemoryMarshal.GetReference(gs);
        ref T mr = ref MemoryMarshal.GetReference(ms);
        ref T vr = ref MemoryMarshal.GetReference(vs);
        int n = ps.Length, w = Vector256<T>.Count, i = 0;
        var vlr = Vector256.Create(lr); var vb1 = Vector256.Create(beta1); var vb2 = Vector256.Create(beta2);
        var v1b1 = Vector256.Create(omb1); var v1b2 = Vector256.Create(omb2);
        var vib1 = Vector256.Create(ib1); var vib2 = Vector256.Create(ib2);
        var veps = Vector256.Create(eps); var vwd = Vector256.Create(weightDecay);
        for (; i <= n - w; i += w)
        {
            var pi = Vector256.LoadUnsafe(ref pr, (nuint)i);
            var gi = Vector256.LoadUnsafe(ref gr, (nuint)i) + vwd * pi;
            var mi = vb1 * Vector256.LoadUnsafe(ref mr, (nuint)i) + v1b1 * gi;
            var vi = vb2 * Vector256.LoadUnsafe(ref vr, (nuint)i) + v1b2 * (gi * gi);
            mi.StoreUnsafe(ref mr, (nuint)i);
            vi.StoreUnsafe(ref vr, (nuint)i);
            var upd = (mi * vib1) / (Vector256.Sqrt(vi * vib2) + veps);
            (pi - vlr * upd).StoreUnsafe(ref pr, (nuint)i);
        }
        for (; i < n; i++)
        {
            T pi = Unsafe.Add(ref pr, i);
            T gi = Unsafe.Add(ref gr, i) + weightDecay * pi;
            T mi = beta1 * Unsafe.Add(ref mr, i) + omb1 * gi;
            T vi = beta2 * Unsafe.Add(ref vr, i) + omb2 * (gi * gi);
            Unsafe.Add(ref mr, i) = mi;
            Unsafe.Add(ref vr, i) = vi;
            Unsafe.Add(ref pr, i) = pi - lr * ((mi * ib1) / (T.Sqrt(vi * ib2) + eps));
        }
    }
}
