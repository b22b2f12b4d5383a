namespace NetDsl.Runtime;

// Convolution forward with the weight packed once per key (inference): see PackedWeights.
public sealed partial class CpuKernels<T>
{
    /// <summary>
    /// y = epilogue(conv(x, w) + b), with the direct kernels' weight panels kept in <paramref name="packed"/> and reused while
    /// <paramref name="key"/> stays the same (the caller guarantees w is not written without the key moving). The other
    /// paths (im2col, 1×1, grouped) read w as they do without a slot.
    /// </summary>
    public void Conv2dForward<TEpi, TGpuEpi>(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g, TEpi epilogue, TGpuEpi gpuEpilogue,
        PackedWeights<T> packed, long key)
        where TEpi : struct, IMap1<T> where TGpuEpi : struct, IGpuMap1
    {
        var d = KernelContract.Conv2d(x, w, b, y, g, "x", "y");
        if (PackedWeights<T>.Enabled && g.Groups == 1 && !UseFewChannels(d, g) && (UseDirect(d, g) || UseDirectStrided(d, g, forward: true)))
            DirectConvForward(x, w, b, y, g, d, epilogue, packed, key);
        else Conv2dForward(x, w, b, y, g, epilogue, gpuEpilogue);
    }
}
