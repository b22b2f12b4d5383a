using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Graph
{
    /// <summary>
    /// The compile-time attributes of a graph op, one record type per kind of op (TVM's typed attribute records). The op's
    /// definition (<see cref="Ops.OpDef"/>) names the record type it takes; the graph verifier rejects a node whose record
    /// is of another type, so a misspelled or missing attribute is a compile error of the compiler, never a silent default.
    /// Backward nodes share their forward node's record (records are immutable).
    /// </summary>
    public abstract record OpAttrs;

    /// <summary>An op without attributes (add, relu, flatten, matmul…).</summary>
    public sealed record NoAttrs : OpAttrs
    {
        public static readonly NoAttrs Instance = new NoAttrs();
    }

    /// <summary>
    /// A 2-D convolution's geometry (conv2d, conv_transpose2d and their gradients): kernel, stride, padding (top, bottom,
    /// left, right), dilation, groups; <see cref="OutPadH"/>/<see cref="OutPadW"/> are a transposed convolution's output padding.
    /// </summary>
    public sealed record ConvAttrs(int Kh, int Kw, int Sh, int Sw, int Pt, int Pb, int Pl, int Pr, int Dh, int Dw, int Groups,
        int OutPadH = 0, int OutPadW = 0) : OpAttrs
    {
        /// <summary>From the language's arguments: kernel (h, w), stride (h, w), pads (top, bottom, left, right), dilation (h, w).</summary>
        public static ConvAttrs Of(int[] k, int[] s, int[] p, int[] d, int groups) =>
            new ConvAttrs(k[0], k[1], s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1], groups);
        /// <summary>A k×k convolution with stride s, symmetric padding p, no dilation, one group.</summary>
        public static ConvAttrs Square(int k, int s, int p) => new ConvAttrs(k, k, s, s, p, p, p, p, 1, 1, 1);
    }

    /// <summary>A 2-D pooling window (maxpool2d, avgpool2d): kernel, stride, symmetric padding, ceil mode, and (avgpool) whether padding counts.</summary>
    public sealed record PoolAttrs(int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, bool Ceil, bool CountPad = true) : OpAttrs;

    /// <summary>Bilinear/nearest upsampling: PyTorch's align_corners.</summary>
    public sealed record UpsampleAttrs(bool AlignCorners) : OpAttrs;

    /// <summary>An op along one axis (softmax, log_softmax, concat), the axis normalized to be non-negative.</summary>
    public sealed record AxisAttrs(int Axis) : OpAttrs;

    /// <summary>A strided slice along <see cref="Axis"/> (and its gradient, which scatters back).</summary>
    public sealed record SliceAttrs(int Axis, int Start, int Step) : OpAttrs;

    /// <summary>A permutation of the axes (permute, and flows' fixed channel permutation).</summary>
    public sealed record PermuteAttrs(IReadOnlyList<int> Perm) : OpAttrs
    {
        public string Display => "[" + string.Join(", ", Perm) + "]";
    }

    /// <summary>y = K·x + C (scale when C = 0, affine otherwise): a tensor combined with a number.</summary>
    public sealed record ScaleAttrs(double K, double C = 0) : OpAttrs;

    /// <summary>A mean over known dims times symbolic ones: the divisor is <see cref="Count"/>·∏<see cref="CountSymbols"/>.</summary>
    public sealed record ReduceAttrs(long Count, string CountSymbols) : OpAttrs;

    /// <summary>sum_to (the gradient of a broadcast): the sum is multiplied by <see cref="Scale"/>.</summary>
    public sealed record SumToAttrs(double Scale) : OpAttrs;

    /// <summary>The constants of an element-wise op, in the order its element-wise definition names them (leaky_relu's slope).</summary>
    public sealed record ElemAttrs(IReadOnlyList<double> Consts) : OpAttrs
    {
        public ElemAttrs(params double[] consts) : this((IReadOnlyList<double>)consts) { }
        public double this[int i] => Consts[i];
    }

    /// <summary>Dropout-like ops: the drop probability.</summary>
    public sealed record DropoutAttrs(double P) : OpAttrs;

    /// <summary>prelu: one slope per channel (true) or one for the tensor.</summary>
    public sealed record PReluAttrs(bool Channels) : OpAttrs;

    /// <summary>maxout: the number of pieces the channels are split into.</summary>
    public sealed record MaxoutAttrs(int Pieces) : OpAttrs;

    /// <summary>batchnorm: epsilon and PyTorch's momentum of the running statistics.</summary>
    public sealed record BatchNormAttrs(double Eps, double Momentum) : OpAttrs;

    /// <summary>layernorm (over the last <see cref="Dims"/> dims) and groupnorm (<see cref="Groups"/> groups): epsilon and whether they learn γ, β.</summary>
    public sealed record NormAttrs(int Dims, int Groups, double Eps, bool Affine) : OpAttrs;

    /// <summary>Local response normalization (AlexNet): window size, α, β, k.</summary>
    public sealed record LrnAttrs(int Size, double Alpha, double Beta, double K) : OpAttrs;

    /// <summary>One layer of a recurrent network (rnn, lstm, gru): its cell, hidden size, directions, layer index, and whether h0/c0 are given.</summary>
    public sealed record RnnAttrs(string Cell, int Hidden, int Dirs, int Layer, bool HasH0 = false, bool HasC0 = false) : OpAttrs;

    /// <summary>Scaled dot-product attention: the score scale, causal masking, dropout on the weights.</summary>
    public sealed record AttentionAttrs(double Scale, bool Causal, double Dropout) : OpAttrs;

    /// <summary>Sinusoidal positional encoding: the base of the frequencies (10000 in the paper).</summary>
    public sealed record PositionalAttrs(double Base) : OpAttrs;

    /// <summary>A regularization penalty over parameters: λ₁·Σ|w| + λ₂·Σw².</summary>
    public sealed record PenaltyAttrs(double L1, double L2) : OpAttrs;

    /// <summary>
    /// A loss's options: sum or mean reduction, class weights, smooth-L1's β, the hinge's margin and squaring, label
    /// smoothing, the focal loss's γ and α (fields a loss does not use keep their defaults).
    /// </summary>
    public sealed record LossAttrs(bool Sum, IReadOnlyList<double>? Weights = null, double Beta = 1.0, double Margin = 1.0,
        bool Squared = false, double Smoothing = 0.0, double Gamma = 2.0, double Alpha = 1.0) : OpAttrs;

    /// <summary>
    /// The generative family's losses and samplers: a kind (a runtime enum member), a reduction (0 mean, 1 sum, 2 batch
    /// mean), a noise's bounds, a temperature, the triplet margin, and whether sample_normal samples in eval mode.
    /// </summary>
    public sealed record GenAttrs(string Kind = "", int Reduction = 0, double A = 0, double B = 0, double Temperature = 0, double Margin = 0, bool EvalSample = false) : OpAttrs;

    /// <summary>Normalizing flows: actnorm/coupling/invconv direction, the log-determinant's positions and whether it takes |·|, a channel permutation.</summary>
    public sealed record FlowAttrs(bool Inverse = false, int Positions = 0, bool LogAbs = false, IReadOnlyList<int>? Perm = null) : OpAttrs;

    /// <summary>
    /// Which gradients a backward node writes when some are optional (kept apart from the forward attributes, so that no
    /// attribute means a gradient flag on one op and a geometry on another): the input's (dx), a saved state's, h0's and c0's.
    /// </summary>
    public sealed record GradMask(bool Dx = true, bool Saved = false, bool H0 = false, bool C0 = false);
}
