using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Attention and transformer pieces (docs/ops/attention.md). One fused graph op, <c>attention</c> (scaled dot-product
    /// attention softmax(scale·QKᵀ + mask)·V; it keeps the probabilities for its backward <c>attention_bwd</c>), and layers
    /// built from it and the tensor ops: multi-head attention with PyTorch's nn.MultiheadAttention parameters
    /// (<c>in_proj_weight</c> [3D, D], <c>in_proj_bias</c>, <c>out_proj.weight</c>, <c>out_proj.bias</c>), sinusoidal and
    /// learned positions, ViT patch embedding and class token, and Bahdanau's additive attention.
    /// </summary>
    internal sealed class Attention : OpFamily
    {
        private static ArgSpec TOpt(string n) => new ArgSpec(n, ArgType.Tensor, false, null, "none");

        public override IEnumerable<LayerDef> Layers => new[]
        {
            // attention(q, k, v, mask:, scale:, lengths:, dropout:) — scaled dot-product attention;
            // attention(x, heads, mask:, lengths:, dropout:, bias:) — multi-head self-attention (the same layer as multihead_attention(x, heads))
            new LayerDef("attention", new[] { T("q"), TOpt("k"), TOpt("v"), IOpt("heads", "none: q, k and v given"), S("mask", "none"),
                new ArgSpec("scale", ArgType.Float, false, null, "1/sqrt(d)"), TOpt("lengths"), F("dropout", 0.0), B("bias", true) }, AttentionLayer, prefix: "attn"),
            new LayerDef("multihead_attention", new[] { T("x"), I("heads"), TOpt("kv"), B("causal", false), F("dropout", 0.0), B("bias", true), TOpt("lengths") },
                MultiheadLayer, prefix: "attn"),
            new LayerDef("positional_encoding", new[] { T("x"), F("base", 10000.0) }, PositionalEncoding, prefix: "posenc"),
            new LayerDef("learned_positions", new[] { T("x"), I("max_len") }, LearnedPositions, prefix: "pos"),
            new LayerDef("class_token", new[] { T("x") }, ClassToken, prefix: "cls"),
            new LayerDef("patch_embed", new[] { T("x"), I("patch"), I("dim") }, PatchEmbed, prefix: "patch"),
            new LayerDef("additive_attention", new[] { T("query"), T("keys"), I("units") }, AdditiveAttention, prefix: "additive"),
        };

        // ------------------------------------------------------------------ graph helpers (nodes without summary rows)

        private static TValue Add(LayerCall c, string op, string layer, Shape shape, Action<OpNode>? attrs, params TValue[] inputs)
        {
            var n = c.Node(op, layer);
            attrs?.Invoke(n);
            n.Inputs.AddRange(inputs);
            var v = c.Graph.NewValue(layer, shape);
            n.Outputs.Add(v);
            c.Graph.AddNode(n);
            return v;
        }

        private static TValue View(LayerCall c, TValue x, Shape shape, string layer)
        {
            var v = Add(c, "reshape", layer, shape, null, x);
            v.AliasOf = x;
            return v;
        }

        private static TValue Permute(LayerCall c, TValue x, string layer, params int[] perm) =>
            Add(c, "permute", layer, new Shape(perm.Select(p => x.Shape[p])), n => n.Attrs = new PermuteAttrs(perm), x);

        private static TValue Slice(LayerCall c, TValue x, string layer, int axis, int start, int size) =>
            Add(c, "slice", layer, x.Shape.With(axis, Dim.Of(size)), n => n.Attrs = new SliceAttrs(axis, start, 1), x);

        /// <summary>
        /// split_heads: a packed projection [N, T, P, H, dh] into P tensors [N, H, T, dh] in one pass; its backward writes the
        /// packed gradient from the P part gradients in one pass (instead of a permuted copy, P slices, and P zero-filled slice
        /// gradients summed).
        /// </summary>
        private static TValue[] SplitHeads(LayerCall c, TValue packed, string layer, int parts, Shape partShape)
        {
            var n = c.Node("split_heads", layer);
            n.Inputs.Add(packed);
            var outs = Enumerable.Range(0, parts).Select(_ => c.Graph.NewValue(layer, partShape)).ToArray();
            n.Outputs.AddRange(outs);
            c.Graph.AddNode(n);
            return outs;
        }

        private static TValue Linear(LayerCall c, TValue x, string layer, TValue w, TValue? b, int outF)
        {
            var inputs = b == null ? new[] { x, w } : new[] { x, w, b };
            return Add(c, "linear", layer, x.Shape.With(x.Shape.Rank - 1, Dim.Of(outF)), null, inputs);
        }

        private static void Row(LayerCall c, string layer, string op, Shape shape, long parameters, long macs) =>
            c.Graph.Layers.Add(new LayerInfo(layer, op, shape, parameters, macs, c.Span.Line));

        /// <summary>The fused attention node: outputs y, probs (and the dropped probs when dropout &gt; 0).</summary>
        private static OpNode SdpaNode(LayerCall c, string layer, TValue q, TValue k, TValue v, TValue? lengths, bool causal, double scale, double dropout, Shape yShape)
        {
            var n = c.Node("attention", layer);
            n.Attrs = new AttentionAttrs(scale, causal, dropout);
            n.Inputs.Add(q); n.Inputs.Add(k); n.Inputs.Add(v);
            if (lengths != null) n.Inputs.Add(lengths);
            n.Outputs.Add(c.Graph.NewValue(layer, yShape));
            n.Outputs.Add(c.Output(n, layer + ".probs", ShapeRules.AttentionProbs(q.Shape, k.Shape)));
            if (dropout > 0) n.Outputs.Add(c.Output(n, layer + ".dropped", ShapeRules.AttentionProbs(q.Shape, k.Shape)));
            return n;
        }

        private static long SdpaMacs(TValue q, TValue k, TValue v) =>
            ShapeRules.AttentionProbs(q.Shape, k.Shape).Size.Factor * (q.Shape[q.Shape.Rank - 1].Value + v.Shape[v.Shape.Rank - 1].Value);

        private static bool CheckDropout(LayerCall c, double p)
        {
            if (p >= 0 && p < 1) return true;
            c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("dropout"), $"{c.Layer} dropout is the drop probability of the attention weights and must be in [0, 1), got {p}");
            return false;
        }

        /// <summary>The optional key lengths: an int tensor [N]; null when absent; false after a diagnostic.</summary>
        private static bool Lengths(LayerCall c, TValue q, out TValue? lengths)
        {
            lengths = c.Has("lengths") ? c.X("lengths") : null;
            if (lengths == null) return true;
            return !c.Fail(ShapeRules.KeyLengths(lengths.Shape, lengths.Type == ElemType.Int, q.Shape));
        }

        // ------------------------------------------------------------------ layers

        private static CValue AttentionLayer(LayerCall c)
        {
            var q = c.X("q");
            if (c.Has("heads"))
            {
                if (c.Has("k") || c.Has("v"))
                {
                    c.Error(DiagnosticIds.TooManyArguments, "attention(x, heads) is multi-head self-attention on one sequence: give either q, k, v (scaled dot-product attention) or x and heads; for cross-attention use multihead_attention(x, heads, kv: memory)");
                    return c.Error();
                }
                var mask = c.Str("mask", "none");
                if (mask != "none" && mask != "causal") { c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("mask"), $"attention mask must be \"none\" or \"causal\", got \"{mask}\""); return c.Error(); }
                if (c.Has("scale")) { c.Error(DiagnosticIds.UnknownArgument, c.ArgSpan("scale"), "attention(x, heads) scales by 1/sqrt(D/heads) as nn.MultiheadAttention does; scale applies to attention(q, k, v)"); return c.Error(); }
                return Multihead(c, q, null, c.Int("heads"), mask == "causal", c.Float("dropout", 0), c.Bool("bias", true));
            }
            if (!c.Has("k") || !c.Has("v"))
            {
                c.Error(DiagnosticIds.MissingArgument, "attention needs q, k and v (scaled dot-product attention: attention(q, k, v, mask: \"causal\")) or one sequence and a head count (self-attention: x |> attention(heads))");
                return c.Error();
            }
            if (c.Has("bias")) { c.Error(DiagnosticIds.UnknownArgument, c.ArgSpan("bias"), "attention(q, k, v) has no parameters; bias applies to the multi-head form attention(x, heads)"); return c.Error(); }
            var k = c.X("k"); var v = c.X("v");
            var r = ShapeRules.Attention(q.Shape, k.Shape, v.Shape, c.Str("mask", "none"));
            if (c.Fail(r)) return c.Error();
            double p = c.Float("dropout", 0);
            if (!CheckDropout(c, p) || !Lengths(c, q, out var lengths)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            double scale = c.Has("scale") ? c.Float("scale") : 1 / Math.Sqrt(q.Shape[q.Shape.Rank - 1].Value);
            var n = c.Node("attention", name);
            n.Attrs = new AttentionAttrs(scale, c.Str("mask", "none") == "causal", p);
            n.Inputs.Add(q); n.Inputs.Add(k); n.Inputs.Add(v);
            if (lengths != null) n.Inputs.Add(lengths);
            var y = c.Emit(n, r.Shape, SdpaMacs(q, k, v));
            n.Outputs.Add(c.Output(n, name + ".probs", ShapeRules.AttentionProbs(q.Shape, k.Shape)));
            if (p > 0) n.Outputs.Add(c.Output(n, name + ".dropped", ShapeRules.AttentionProbs(q.Shape, k.Shape)));
            return y;
        }

        private static CValue MultiheadLayer(LayerCall c) =>
            Multihead(c, c.X("x"), c.Has("kv") ? c.X("kv") : null, c.Int("heads"), c.Bool("causal", false), c.Float("dropout", 0), c.Bool("bias", true));

        /// <summary>
        /// nn.MultiheadAttention(D, heads, batch_first=True): q, k, v = x·W_qᵀ, kv·W_kᵀ, kv·W_vᵀ (+ biases) from in_proj_weight
        /// [3D, D] (one GEMM [N·T, D]×[D, 3D] for self-attention; slices of the parameter for cross-attention), split into
        /// heads [N, H, T, D/H], fused attention with scale 1/sqrt(D/H), heads merged, out_proj.
        /// </summary>
        private static CValue Multihead(LayerCall c, TValue x, TValue? kv, int heads, bool causal, double dropout, bool bias)
        {
            var r = ShapeRules.MultiheadAttention(x.Shape, kv?.Shape, heads);
            if (c.Fail(r)) return c.Error();
            if (!CheckDropout(c, dropout) || !Lengths(c, kv ?? x, out var lengths)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int d = x.Shape[2].Value, dh = d / heads;
            var nT = x.Shape[1]; var nS = (kv ?? x).Shape[1];
            var w = c.Param(name, "in_proj_weight", Shape.Of(3 * d, d), InitKind.Xavier, d, 3 * d);
            var b = bias ? c.Param(name, "in_proj_bias", Shape.Of(3 * d), InitKind.Zeros, d, 3 * d) : null;
            TValue q, k, v;
            Shape Heads(Dim t) => Shape.Of(x.Shape[0], Dim.Of(heads), t, Dim.Of(dh));
            if (kv == null)
            {
                // [N, T, 3D] → [N, T, 3, H, dh] → three [N, H, T, dh] in one pass (split_heads)
                var qkv = Linear(c, x, name, w, b, 3 * d);
                var parts = SplitHeads(c, View(c, qkv, Shape.Of(x.Shape[0], nT, Dim.Of(3), Dim.Of(heads), Dim.Of(dh)), name), name, 3, Heads(nT));
                q = parts[0]; k = parts[1]; v = parts[2];
            }
            else
            {
                var wq = Slice(c, w, name, 0, 0, d); var wkv = Slice(c, w, name, 0, d, 2 * d);
                var bq = b == null ? null : Slice(c, b, name, 0, 0, d); var bkv = b == null ? null : Slice(c, b, name, 0, d, 2 * d);
                var qp = Linear(c, x, name, wq, bq, d);
                q = Permute(c, View(c, qp, Shape.Of(x.Shape[0], nT, Dim.Of(heads), Dim.Of(dh)), name), name, 0, 2, 1, 3);
                var kvp = Linear(c, kv, name, wkv, bkv, 2 * d);
                var parts = SplitHeads(c, View(c, kvp, Shape.Of(x.Shape[0], nS, Dim.Of(2), Dim.Of(heads), Dim.Of(dh)), name), name, 2, Heads(nS));
                k = parts[0]; v = parts[1];
            }
            var att = SdpaNode(c, name, q, k, v, lengths, causal, 1 / Math.Sqrt(dh), dropout, Heads(nT));
            c.Graph.AddNode(att);
            var merged = View(c, Permute(c, att.Outputs[0], name, 0, 2, 1, 3), x.Shape, name);
            var wo = c.Param(name + ".out_proj", "weight", Shape.Of(d, d), InitKind.Xavier, d, d);
            var bo = bias ? c.Param(name + ".out_proj", "bias", Shape.Of(d), InitKind.Zeros, d, d) : null;
            var outNode = c.Node("linear", name + ".out_proj");
            outNode.Inputs.Add(merged); outNode.Inputs.Add(wo);
            if (bo != null) outNode.Inputs.Add(bo);
            long tq = nT.IsKnown ? nT.Value : 1, tk = nS.IsKnown ? nS.Value : 1;
            long macs = (kv == null ? tq * 3L * d * d : tq * (long)d * d + tk * 2L * d * d) + SdpaMacs(q, k, v) + tq * (long)d * d;
            long parameters = (3L * d * d + d * d) + (bias ? 4L * d : 0);
            var y = c.Graph.NewValue(name, x.Shape);
            outNode.Outputs.Add(y);
            c.Graph.AddNode(outNode);
            Row(c, name, kv == null ? "self_attention" : "cross_attention", x.Shape, parameters, macs);
            return new TensorValue(y);
        }

        private static CValue PositionalEncoding(LayerCall c)
        {
            var x = c.X("x");
            double b = c.Float("base", 10000.0);
            if (b <= 1) { c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("base"), $"positional_encoding base must be > 1 (10000 in the Transformer paper), got {b}"); return c.Error(); }
            return c.Simple("positional_encoding", x, ShapeRules.Sequence("positional_encoding", x.Shape), n => n.Attrs = new PositionalAttrs(b));
        }

        /// <summary>x + W[:T] with W [max_len, D] a parameter (<c>pos1.weight</c>): a slice (when T &lt; max_len) and a broadcasting add.</summary>
        private static CValue LearnedPositions(LayerCall c)
        {
            var x = c.X("x");
            int maxLen = c.Int("max_len");
            var r = ShapeRules.LearnedPositions(x.Shape, maxLen);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int t = x.Shape[1].Value, d = x.Shape[2].Value;
            var w = c.Param(name, "weight", Shape.Of(maxLen, d), InitKind.Xavier, d, maxLen);
            var pos = t == maxLen ? w : Slice(c, w, name, 0, 0, t);
            var y = Add(c, "broadcast_add", name, x.Shape, null, x, pos);
            Row(c, name, "learned_positions", x.Shape, (long)maxLen * d, 0);
            return new TensorValue(y);
        }

        private static CValue ClassToken(LayerCall c)
        {
            var x = c.X("x");
            var r = ShapeRules.Sequence("class_token", x.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int d = x.Shape[2].Value;
            var n = c.Node("class_token", name);
            n.Inputs.Add(x);
            n.Inputs.Add(c.Param(name, "weight", Shape.Of(1, 1, d), InitKind.Zeros, d, d));
            return c.Emit(n, x.Shape.With(1, Dim.Of(x.Shape[1].Value + 1)));
        }

        /// <summary>ViT's patch embedding: conv(dim, patch, stride: patch) (torchvision's conv_proj) viewed [N, dim, L] and transposed to [N, L, dim].</summary>
        private static CValue PatchEmbed(LayerCall c)
        {
            var x = c.X("x");
            int p = c.Int("patch"), dim = c.Int("dim");
            var r = ShapeRules.PatchEmbed(x.Shape, p, dim);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int ch = x.Shape[1].Value, gh = x.Shape[2].Value / p, gw = x.Shape[3].Value / p;
            var conv = c.Node("conv2d", name);
            conv.Attrs = ConvAttrs.Square(p, p, 0);
            conv.Inputs.Add(x);
            conv.Inputs.Add(c.Param(name, "weight", Shape.Of(dim, ch, p, p), InitKind.Xavier, ch * p * p, dim * p * p));
            conv.Inputs.Add(c.Param(name, "bias", Shape.Of(dim), InitKind.Zeros, ch * p * p, dim));
            var fm = c.Graph.NewValue(name, Shape.Of(x.Shape[0], Dim.Of(dim), Dim.Of(gh), Dim.Of(gw)));
            conv.Outputs.Add(fm);
            c.Graph.AddNode(conv);
            var y = Permute(c, View(c, fm, Shape.Of(x.Shape[0], Dim.Of(dim), Dim.Of(gh * gw)), name), name, 0, 2, 1);
            Row(c, name, "patch_embed", r.Shape, (long)dim * ch * p * p + dim, (long)dim * ch * p * p * gh * gw);
            return new TensorValue(y);
        }

        /// <summary>
        /// Bahdanau attention: e_t = v·tanh(W_q·query + W_k·k_t), a = softmax_t(e), context = Σ_t a_t·k_t. Parameters (no biases,
        /// as in the paper's score): <c>additive1.query.weight</c> [units, Dq], <c>additive1.key.weight</c> [units, Dk],
        /// <c>additive1.v.weight</c> [1, units]. The softmax and weighted sum run through the fused attention kernel with one
        /// query of ones and the scores as one-feature keys (softmax(1·e)·keys).
        /// </summary>
        private static CValue AdditiveAttention(LayerCall c)
        {
            var qy = c.X("query"); var keys = c.X("keys");
            int units = c.Int("units");
            var r = ShapeRules.AdditiveAttention(qy.Shape, keys.Shape, units);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int dq = qy.Shape[1].Value, t = keys.Shape[1].Value, dk = keys.Shape[2].Value;
            var nDim = qy.Shape[0];
            var wq = c.Param(name + ".query", "weight", Shape.Of(units, dq), InitKind.Xavier, dq, units);
            var wk = c.Param(name + ".key", "weight", Shape.Of(units, dk), InitKind.Xavier, dk, units);
            var wv = c.Param(name + ".v", "weight", Shape.Of(1, units), InitKind.Xavier, units, 1);
            var qp = View(c, Add(c, "linear", name + ".query", Shape.Of(nDim, Dim.Of(units)), null, qy, wq), Shape.Of(nDim, Dim.Of(1), Dim.Of(units)), name);
            var kp = Add(c, "linear", name + ".key", Shape.Of(nDim, Dim.Of(t), Dim.Of(units)), null, keys, wk);
            var h = Add(c, "tanh", name, kp.Shape, null, Add(c, "broadcast_add", name, kp.Shape, null, kp, qp));
            var e = Add(c, "linear", name + ".v", Shape.Of(nDim, Dim.Of(t), Dim.Of(1)), null, h, wv);
            // a query of ones [N, 1, 1] (0·e₀ + 1: its gradient is zero) against the scores as keys [N, T, 1]
            var ones = Add(c, "affine", name, Shape.Of(nDim, Dim.Of(1), Dim.Of(1)), n => n.Attrs = new ElemAttrs(0.0, 1.0), Slice(c, e, name, 1, 0, 1));
            var att = SdpaNode(c, name, ones, e, keys, null, false, 1.0, 0.0, Shape.Of(nDim, Dim.Of(1), Dim.Of(dk)));
            c.Graph.AddNode(att);
            var y = View(c, att.Outputs[0], r.Shape, name);
            Row(c, name, "additive_attention", r.Shape, (long)units * (dq + dk + 1), (long)units * (dq + t * dk + t) + 2L * t * dk);
            return new TensorValue(y);
        }

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<AttentionAttrs>("attention", "q, k, v, lengths?"),
            OpDef.Grad<AttentionAttrs>("attention_bwd", "dy, q, k, v, probs, dropped?"),
            OpDef.Of<PositionalAttrs>("positional_encoding", "x"),
            OpDef.Of("split_heads", "packed"),
            OpDef.Grad("split_heads_bwd", "dq, dk, dv?"),
            OpDef.Of("class_token", "x, token"),
            OpDef.Grad("class_token_bwd", "dy"),
        };

        // ------------------------------------------------------------------ backward

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "attention":
                {
                    var inputs = new List<TValue> { dy!, n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Outputs[1] };
                    if (n.Outputs.Count > 2) inputs.Add(n.Outputs[2]);
                    var b = c.Node("attention_bwd", n, inputs.ToArray());
                    var grads = new[] { c.Out(b, n.Inputs[0]), c.Out(b, n.Inputs[1]), c.Out(b, n.Inputs[2]) };
                    c.Out(b, n.Outputs[1], "d" + n.Layer + ".scores");   // scratch for dS
                    for (int i = 0; i < 3; i++) if (c.Needs(n.Inputs[i])) c.Accumulate(n, n.Inputs[i], grads[i]);
                    return true;
                }
                case "positional_encoding":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], dy!);
                    return true;
                case "split_heads":
                {
                    if (!c.Needs(n.Inputs[0])) return true;
                    var parts = n.Outputs.Select(o => c.GradOf(o)).ToArray();
                    if (parts.Any(g => g == null))
                        throw new InvalidOperationException($"split_heads {n.Layer}: every part needs a gradient (attention's backward gives q, k and v one each)");
                    var b = c.Node("split_heads_bwd", n, parts!);
                    c.Accumulate(n, n.Inputs[0], c.Out(b, n.Inputs[0]));
                    return true;
                }
                case "class_token":
                {
                    var b = c.Node("class_token_bwd", n, dy!);
                    var dx = c.Out(b, n.Inputs[0]);
                    var dt = c.Out(b, n.Inputs[1]);
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], dx);
                    c.Accumulate(n, n.Inputs[1], dt);
                    return true;
                }
            }
            return false;
        }

        // ------------------------------------------------------------------ kernel calls

        private static string Lit(double v) => CallContext.T(v);

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            switch (n.Op)
            {
                case "attention":
                {
                    var a = n.A<AttentionAttrs>();
                    double p = a.Dropout;
                    string lengths = n.Inputs.Count > 3 ? c.In[3] : "null";
                    string dropped = p > 0 ? c.Out[2] : "null";
                    return $"K.AttentionForward({c.In[0]}, {c.In[1]}, {c.In[2]}, {lengths}, {c.Out[0]}, {c.Out[1]}, {dropped}, {Lit(a.Scale)}, {CallContext.Bool(a.Causal)}, "
                        + (p > 0 ? $"training ? {Lit(p)} : T.Zero, {c.Seed});" : "T.Zero, 0UL);");
                }
                case "attention_bwd":
                {
                    var a = n.A<AttentionAttrs>();
                    double p = a.Dropout;
                    string dropped = p > 0 ? c.In[5] : "null";
                    // the backward reads the dropped probabilities the forward kept (no seed needed); in eval mode the forward used P itself
                    return $"K.AttentionBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.In[3]}, {c.In[4]}, {dropped}, {c.Out[0]}, {c.Out[1]}, {c.Out[2]}, {c.Out[3]}, {Lit(a.Scale)}, {(p > 0 ? $"Training ? {Lit(p)} : T.Zero" : "T.Zero")});";
                }
                case "positional_encoding":
                    return $"K.AddPositionalEncoding({c.In[0]}, {c.Out[0]}, {n.A<PositionalAttrs>().Base.ToString("R", CultureInfo.InvariantCulture)});";
                case "split_heads": return $"K.SplitHeads({c.In[0]}, {c.Out[0]}, {c.Out[1]}, {c.OutOrNull(2)});";
                case "split_heads_bwd": return $"K.SplitHeadsBackward({c.In[0]}, {c.In[1]}, {c.InOrNull(2)}, {c.Out[0]});";
                case "class_token": return $"K.ClassTokenForward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "class_token_bwd": return $"K.ClassTokenBackward({c.In[0]}, {c.Out[0]}, {c.Out[1]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            if (fwd.Op == "split_heads") return 0;   // a copy: bytes moved, no arithmetic
            if (fwd.Op != "attention") return null;
            var q = fwd.Inputs[0].Shape; var kk = fwd.Inputs[1].Shape; var v = fwd.Inputs[2].Shape;
            long pairs = ShapeRules.AttentionProbs(q, kk).Size.Factor;
            long dd = q[q.Rank - 1].Value, dv = v[v.Rank - 1].Value;
            return n.Op == "attention" ? 2 * pairs * (dd + dv) + 4 * pairs : 4 * pairs * (dd + dv) + 4 * pairs;
        }
    }
}
