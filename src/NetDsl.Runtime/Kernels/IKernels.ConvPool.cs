using System.Numerics;

namespace NetDsl.Runtime;

// The convolution and pooling family beyond the slice's Conv2d*/MaxPool2d*/AvgPool2d*/GlobalAvgPool* (docs/ops/convpool.md).
public partial interface IKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    // ---- transposed convolution (PyTorch's ConvTranspose2d): x [N,Cin,H,W], w [Cin,Cout/groups,kh,kw], b [Cout] or null,
    //      y [N,Cout,OH,OW]. g is the geometry of the convolution it is the adjoint of (y-shaped input -> x-shaped output):
    //      OH = (H−1)·s − g.PadH − g.PadBottom + d·(kh−1) + 1, so output_padding is g.ExtraPadH = −output_padding.
    /// <summary>y = convᵀ(x, w) + b (the backward-data of the convolution g, plus a bias per output channel).</summary>
    void ConvTranspose2dForward(Tensor<T> x, Tensor<T> w, Tensor<T>? b, Tensor<T> y, ConvGeometry g);
    /// <summary>dx = conv(dy, w) with geometry g (the forward of the convolution it is the adjoint of).</summary>
    void ConvTranspose2dBackwardData(Tensor<T> dy, Tensor<T> w, Tensor<T> dx, ConvGeometry g);
    /// <summary>dw [Cin,Cout/groups,kh,kw] = Σ x ⊗ dy over the taps; db (if not null) = dy summed over N, OH, OW.</summary>
    void ConvTranspose2dBackwardFilter(Tensor<T> dy, Tensor<T> x, Tensor<T> dw, Tensor<T>? db, ConvGeometry g);

    // ---- adaptive average pooling: x [N,C,H,W] -> y [N,C,OH,OW]; window i covers [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)
    void AdaptiveAvgPool2dForward(Tensor<T> x, Tensor<T> y);
    void AdaptiveAvgPool2dBackward(Tensor<T> dy, Tensor<T> dx);

    // ---- max unpooling: x [N,C,OH,OW] and the argmax of the max pool that produced a tensor of that shape -> y [N,C,H,W]
    /// <summary>y = zeros, then y[n, c, argmax[n,c,i]] = x[n, c, i] (argmax holds flat h*W+w indices into the pool's input plane).</summary>
    void MaxUnpool2dForward(Tensor<T> x, Tensor<int> argmax, Tensor<T> y);
    /// <summary>dx[n, c, i] = dy[n, c, argmax[n,c,i]].</summary>
    void MaxUnpool2dBackward(Tensor<T> dy, Tensor<int> argmax, Tensor<T> dx);

    // ---- upsampling (F.interpolate): x [N,C,H,W] -> y [N,C,OH,OW]
    /// <summary>y[i, j] = x[⌊i·H/OH⌋, ⌊j·W/OW⌋] (mode "nearest").</summary>
    void UpsampleNearest2dForward(Tensor<T> x, Tensor<T> y);
    void UpsampleNearest2dBackward(Tensor<T> dy, Tensor<T> dx);
    /// <summary>Bilinear interpolation (mode "bilinear"), source index (i + ½)·H/OH − ½ clamped at 0, or i·(H−1)/(OH−1) with align_corners.</summary>
    void UpsampleBilinear2dForward(Tensor<T> x, Tensor<T> y, bool alignCorners);
    void UpsampleBilinear2dBackward(Tensor<T> dy, Tensor<T> dx, bool alignCorners);
}
