using System.Linq;

namespace NetDsl.Compiler.Shapes
{
    /// <summary>Shape rules of the convolution and pooling family (Ops/Conv.cs, Ops/Pooling.cs), PyTorch's output-size formulas.</summary>
    public static partial class ShapeRules
    {
        /// <summary>`3` when both values agree, `(3, 5)` otherwise.</summary>
        internal static string Pair(int[] a) => a.Length == 1 || a.All(v => v == a[0]) ? a[0].ToString() : "(" + string.Join(", ", a) + ")";

        /// <summary>Padding (top, bottom, left, right): `1`, `(1, 2)` for (h, w), or all four.</summary>
        internal static string Pads(int[] p) =>
            p.All(v => v == p[0]) ? p[0].ToString() : p[0] == p[1] && p[2] == p[3] ? $"({p[0]}, {p[2]})" : "(" + string.Join(", ", p) + ")";

        private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

        /// <summary>conv: [N,C,H,W] → [N,out,⌊(H+2p−k)/s⌋+1,…] (square kernel, symmetric padding).</summary>
        public static ShapeResult Conv2d(Shape x, int outChannels, int kernel, int stride, int pad) =>
            Conv(x, outChannels, new[] { kernel, kernel }, new[] { stride, stride }, new[] { pad, pad, pad, pad }, new[] { 1, 1 }, 1);

        /// <summary>
        /// conv (or conv1d with <paramref name="oneD"/>: [N,C,L], the H entries of the arrays ignored): [N,C,H,W] →
        /// [N,out,⌊(H+pt+pb−d(kh−1)−1)/sh⌋+1, ⌊(W+pl+pr−d(kw−1)−1)/sw⌋+1]; groups divide C and out.
        /// kernel, stride, dilation are (h, w); pad is (top, bottom, left, right).
        /// </summary>
        public static ShapeResult Conv(Shape x, int outChannels, int[] k, int[] s, int[] p, int[] d, int groups, bool oneD = false)
        {
            string op = oneD ? "conv1d" : "conv";
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = oneD ? RequireRank(op, x, 3, "[N, C, L]") : RequireRank(op, x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            int[] K = oneD ? new[] { k[1] } : k, S = oneD ? new[] { s[1] } : s, D = oneD ? new[] { d[1] } : d, P = oneD ? new[] { p[2], p[3] } : p;
            if (outChannels <= 0 || K.Any(v => v <= 0) || S.Any(v => v <= 0) || P.Any(v => v < 0) || D.Any(v => v <= 0) || groups <= 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} needs out channels, kernel, stride, dilation and groups > 0 and pad >= 0, got out {outChannels}, kernel {Pair(K)}, stride {Pair(S)}, pad {(oneD ? Pair(P) : Pads(P))}, dilation {Pair(D)}, groups {groups}");
            if (x.Dims.Skip(1).Any(v => !v.IsKnown))
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs known channels{(oneD ? " and length" : ", height and width")}, got {x.ToDisplay()}");
            int c = x[1].Value;
            if (c % groups != 0 || outChannels % groups != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} groups {groups} must divide both the input channels and the out channels: input {x.ToDisplay()} has {c} channels, out is {outChannels}");
            int h = oneD ? 1 : x[2].Value, w = x[oneD ? 2 : 3].Value;
            int oh = oneD ? 1 : FloorDiv(h + p[0] + p[1] - d[0] * (k[0] - 1) - 1, s[0]) + 1;
            int ow = FloorDiv(w + p[2] + p[3] - d[1] * (k[1] - 1) - 1, s[1]) + 1;
            if (oh <= 0 || ow <= 0)
            {
                string kd = oneD ? K[0].ToString() : $"{k[0]}x{k[1]}";
                string dil = D.Any(v => v != 1) ? $", dilation {Pair(D)}" : "";
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} {kd} (stride {Pair(S)}, pad {(oneD ? Pair(P) : Pads(P))}{dil}) does not fit input {x.ToDisplay()}: output would be {(oneD ? ow.ToString() : $"{oh}x{ow}")}");
            }
            return ShapeResult.Ok(oneD ? Shape.Of(x[0], Dim.Of(outChannels), Dim.Of(ow)) : Shape.Of(x[0], Dim.Of(outChannels), Dim.Of(oh), Dim.Of(ow)));
        }

        /// <summary>
        /// conv_transpose (PyTorch's ConvTranspose2d): [N,C,H,W] → [N,out,(H−1)s−2p+d(k−1)+output_pad+1,…]; output_pad must be
        /// smaller than the stride or the dilation; groups divide C and out.
        /// </summary>
        public static ShapeResult ConvTranspose(Shape x, int outChannels, int[] k, int[] s, int[] p, int[] outputPad, int[] d, int groups, string op = "conv_transpose")
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank(op, x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (outChannels <= 0 || k.Any(v => v <= 0) || s.Any(v => v <= 0) || p.Any(v => v < 0) || d.Any(v => v <= 0) || groups <= 0 || outputPad.Any(v => v < 0))
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} needs out channels, kernel, stride, dilation and groups > 0 and pad, output_pad >= 0, got out {outChannels}, kernel {Pair(k)}, stride {Pair(s)}, pad {Pair(p)}, output_pad {Pair(outputPad)}, dilation {Pair(d)}, groups {groups}");
            for (int i = 0; i < 2; i++)
                if (outputPad[i] >= s[i] && outputPad[i] >= d[i])
                    return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} output_pad {Pair(outputPad)} must be smaller than the stride {Pair(s)} or the dilation {Pair(d)}");
            if (x.Dims.Skip(1).Any(v => !v.IsKnown))
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs known channels, height and width, got {x.ToDisplay()}");
            int c = x[1].Value;
            if (c % groups != 0 || outChannels % groups != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} groups {groups} must divide both the input channels and the out channels: input {x.ToDisplay()} has {c} channels, out is {outChannels}");
            int oh = (x[2].Value - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + outputPad[0] + 1;
            int ow = (x[3].Value - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + outputPad[1] + 1;
            if (oh <= 0 || ow <= 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} {k[0]}x{k[1]} (stride {Pair(s)}, pad {Pair(p)}) of input {x.ToDisplay()} has an empty output: {oh}x{ow}");
            return ShapeResult.Ok(Shape.Of(x[0], Dim.Of(outChannels), Dim.Of(oh), Dim.Of(ow)));
        }

        /// <summary>maxpool/avgpool: [N,C,H,W] → [N,C,(H+2p−k)/s+1,(W+2p−k)/s+1] (floor mode).</summary>
        public static ShapeResult Pool2d(string op, Shape x, int kernel, int stride, int pad) =>
            Pool(op, x, new[] { kernel, kernel }, new[] { stride, stride }, new[] { pad, pad }, false);

        /// <summary>PyTorch's pooling output size: ⌊ or ⌈(size + 2p − k)/s⌉ + 1, minus one when ceil mode starts the last window in the right padding.</summary>
        public static int PoolOut(int size, int kernel, int stride, int pad, bool ceil)
        {
            int span = size + 2 * pad - kernel;
            if (span < 0) return 0;
            int o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
            if (ceil && (o - 1) * stride >= size + pad) o--;
            return o;
        }

        /// <summary>maxpool/avgpool with (h, w) kernel, stride and pad: pad ≤ kernel/2 (PyTorch's rule); floor or ceil mode.</summary>
        public static ShapeResult Pool(string op, Shape x, int[] k, int[] s, int[] p, bool ceil)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank(op, x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (k.Any(v => v <= 0) || s.Any(v => v <= 0) || p.Any(v => v < 0) || p[0] * 2 > k[0] || p[1] * 2 > k[1])
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} needs kernel, stride > 0 and 0 <= pad <= kernel/2, got kernel {Pair(k)}, stride {Pair(s)}, pad {Pair(p)}");
            if (!x[2].IsKnown || !x[3].IsKnown)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"{op} needs known height and width, got {x.ToDisplay()}");
            int oh = PoolOut(x[2].Value, k[0], s[0], p[0], ceil), ow = PoolOut(x[3].Value, k[1], s[1], p[1], ceil);
            if (oh <= 0 || ow <= 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"{op} {k[0]}x{k[1]} (stride {Pair(s)}, pad {Pair(p)}) does not fit input {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], x[1], Dim.Of(oh), Dim.Of(ow)));
        }

        /// <summary>globalavgpool: [N,C,H,W] → [N,C].</summary>
        public static ShapeResult GlobalAvgPool(Shape x)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank("globalavgpool", x, 4, "[N, C, H, W]");
            return r.IsError ? r : ShapeResult.Ok(Shape.Of(x[0], x[1]));
        }

        /// <summary>adaptive_avgpool: [N,C,H,W] → [N,C,oh,ow] for any positive (oh, ow).</summary>
        public static ShapeResult AdaptiveAvgPool(Shape x, int[] output)
        {
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank("adaptive_avgpool", x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (output.Any(v => v <= 0)) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"adaptive_avgpool needs an output size > 0, got {Pair(output)}");
            if (!x[2].IsKnown || !x[3].IsKnown || x[2].Value == 0 || x[3].Value == 0)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"adaptive_avgpool needs a known, non-empty height and width, got {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], x[1], Dim.Of(output[0]), Dim.Of(output[1])));
        }

        /// <summary>max_unpool: x has the shape of the max pool's output <paramref name="pooled"/>; the result has the pool's input shape.</summary>
        public static ShapeResult MaxUnpool(Shape x, Shape pooled, Shape poolInput)
        {
            if (Unknown(x, pooled, poolInput)) return ShapeResult.Ok(Shape.Unknown);
            if (!x.Equals(pooled))
                return ShapeResult.Fail(DiagnosticIds.ShapeMismatch, $"max_unpool needs x shaped like the max pool output it unpools: x is {x.ToDisplay()}, pooled is {pooled.ToDisplay()}");
            return ShapeResult.Ok(poolInput);
        }

        /// <summary>upsample: [N,C,H,W] → [N,C,H·sh,W·sw]; mode "nearest" or "bilinear" (align_corners only with bilinear).</summary>
        public static ShapeResult Upsample(Shape x, int[] scale, string mode, bool alignCorners)
        {
            if (mode != "nearest" && mode != "bilinear")
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"upsample mode must be \"nearest\" or \"bilinear\", got \"{mode}\"");
            if (alignCorners && mode == "nearest")
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, "upsample align_corners applies to mode \"bilinear\" only (as in PyTorch), got mode \"nearest\"");
            if (Unknown(x)) return ShapeResult.Ok(Shape.Unknown);
            var r = RequireRank("upsample", x, 4, "[N, C, H, W]");
            if (r.IsError) return r;
            if (scale.Any(v => v <= 0)) return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"upsample needs an integer scale > 0, got {Pair(scale)}");
            if (!x[2].IsKnown || !x[3].IsKnown)
                return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"upsample needs known height and width, got {x.ToDisplay()}");
            return ShapeResult.Ok(Shape.Of(x[0], x[1], Dim.Of(x[2].Value * scale[0]), Dim.Of(x[3].Value * scale[1])));
        }
    }
}
