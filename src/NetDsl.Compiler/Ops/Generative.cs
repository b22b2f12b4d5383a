using System.Collections.Generic;
using NetDsl.Compiler.Autodiff;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Semantics;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Semantics.LayerCatalog;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// Generative models (docs/ops/generative.md): the reparameterized sample z = μ + exp(½·logvar)·ε and noise tensors
    /// from a counter-based generator (NetworkBase.NoiseSeed: network seed, training step, draw, op site; element index),
    /// and the generative losses: bce, bce_with_logits, kl_normal, gan_loss / gan_generator_loss, cycle_l1 (l1_loss),
    /// triplet_margin, nt_xent, distill. Every loss is a scalar [1] whose backward reads dy [1].
    /// </summary>
    internal sealed class Generative : OpFamily
    {
        /// <summary>Reduction codes of the element-wise losses (runtime enum GenReduction: Mean, Sum, BatchMean).</summary>
        private static int? Reduction(LayerCall c, string dflt, bool batchMeanAllowed, bool meanIsBatch)
        {
            var r = c.Str("reduction", dflt);
            if (r == "mean") return meanIsBatch ? 2 : 0;
            if (r == "sum") return 1;
            if (r == "batchmean" && batchMeanAllowed) return 2;
            c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("reduction"),
                $"{c.Layer} reduction must be \"mean\" or \"sum\"{(batchMeanAllowed ? " or \"batchmean\"" : "")}, got \"{r}\"");
            return null;
        }

        private static bool Float(LayerCall c, string arg, TValue v)
        {
            if (v.Type == ElemType.Float) return true;
            c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan(arg), $"{c.Layer} needs a float tensor for '{arg}', got int{v.Shape.ToDisplay()}");
            return false;
        }

        /// <summary>A loss over two equal-shaped tensors (a, b) → [1]: node <paramref name="op"/> with attrs kind and red.</summary>
        private static LayerDef PairLoss(string layer, string a, string b, string kind, bool batchMeanAllowed, bool meanIsBatch, bool rank2 = false, ArgSpec[]? extra = null, System.Action<LayerCall, OpNode>? attrs = null, string? op = null)
        {
            var specs = new List<ArgSpec> { T(a), T(b) };
            if (extra != null) specs.AddRange(extra);
            specs.Add(S("reduction", "mean"));
            return new LayerDef(layer, specs, c =>
            {
                var x = c.X(a); var y = c.X(b);
                if (!Float(c, a, x) || !Float(c, b, y)) return c.Error();
                var r = ShapeRules.PairLoss(layer, a, x.Shape, b, y.Shape, rank2);
                if (c.Fail(r)) return c.Error();
                var red = Reduction(c, "mean", batchMeanAllowed, meanIsBatch);
                if (red == null) return c.Error();
                var name = c.Name();
                if (x.Shape.IsUnknown || y.Shape.IsUnknown) return c.Error();
                var node = c.Node(op ?? "pointwise_loss", name);
                node.Attrs = new GenAttrs(kind, red.Value);
                attrs?.Invoke(c, node);
                node.Inputs.Add(x); node.Inputs.Add(y);
                return c.Emit(node, r.Shape);
            });
        }

        private static LayerDef LogitLoss(string layer, ArgSpec[] extra, System.Func<LayerCall, string?> kind) =>
            new LayerDef(layer, new List<ArgSpec> { T("logits") }.Concat2(extra).Concat2(new[] { S("reduction", "mean") }), c =>
            {
                var x = c.X("logits");
                if (!Float(c, "logits", x)) return c.Error();
                var k = kind(c);
                if (k == null) return c.Error();
                var red = Reduction(c, "mean", batchMeanAllowed: true, meanIsBatch: false);
                if (red == null) return c.Error();
                var name = c.Name();
                if (x.Shape.IsUnknown) return c.Error();
                var node = c.Node("pointwise_loss", name);
                node.Attrs = new GenAttrs(k, red.Value);
                node.Inputs.Add(x);
                return c.Emit(node, Shape.Of(1));
            });

        private static LayerDef Noise(string layer, string kind, double a, double b, string aName, string bName) =>
            new LayerDef(layer, new[] { T("like"), I("dim", 0), F(aName, a), F(bName, b) }, c =>
            {
                var like = c.X("like");
                double lo = c.Float(aName, a), hi = c.Float(bName, b);
                if (kind == "Normal" ? !(hi >= 0) : !(hi >= lo))
                {
                    c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan(bName), kind == "Normal" ? $"{layer} std must be >= 0, got {hi}" : $"{layer} needs lo <= hi, got lo {lo}, hi {hi}");
                    return c.Error();
                }
                var r = ShapeRules.Noise(layer, like.Shape, c.Int("dim", 0));
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node("random_fill", name);
                node.Attrs = new GenAttrs(kind, A: lo, B: hi);
                return c.Emit(node, r.Shape);
            });

        public override IEnumerable<LayerDef> Layers => new[]
        {
            // z = mu + exp(0.5·logvar)·eps; eval: "sample" (default: sample in both modes, as torch code does) or "mean" (z = mu at eval)
            new LayerDef("sample_normal", new[] { T("mu"), T("logvar"), S("eval", "sample") }, c =>
            {
                var mu = c.X("mu"); var lv = c.X("logvar");
                if (!Float(c, "mu", mu) || !Float(c, "logvar", lv)) return c.Error();
                var mode = c.Str("eval", "sample");
                if (mode != "sample" && mode != "mean")
                {
                    c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("eval"), $"sample_normal eval must be \"sample\" or \"mean\", got \"{mode}\"");
                    return c.Error();
                }
                var r = ShapeRules.SampleNormal(mu.Shape, lv.Shape);
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node("sample_normal", name);
                node.Attrs = new GenAttrs(EvalSample: mode == "sample");
                node.Inputs.Add(mu); node.Inputs.Add(lv);
                var z = c.Emit(node, r.Shape);
                node.Outputs.Add(c.Output(node, name + ".noise", r.Shape)); // σ·ε = z − μ, for the logvar gradient
                return z;
            }, prefix: "sample"),
            Noise("normal_noise", "Normal", 0.0, 1.0, "mean", "std"),
            Noise("uniform_noise", "Uniform", 0.0, 1.0, "lo", "hi"),
            PairLoss("bce", "p", "target", "Bce", batchMeanAllowed: true, meanIsBatch: false),
            PairLoss("bce_with_logits", "logits", "target", "BceWithLogits", batchMeanAllowed: true, meanIsBatch: false),
            PairLoss("kl_normal", "mu", "logvar", "KlNormal", batchMeanAllowed: false, meanIsBatch: true),
            // the discriminator's loss: real → −log σ(l), fake → −log(1 − σ(l)) (BCE with logits against 1 or 0)
            LogitLoss("gan_loss", new[] { new ArgSpec("real", ArgType.Bool, true) }, c => c.Bool("real") ? "SoftplusNeg" : "Softplus"),
            // the generator's loss on D(G(z)) logits: non_saturating −log D(G(z)), minimax log(1 − D(G(z)))
            LogitLoss("gan_generator_loss", new[] { S("mode", "non_saturating") }, c =>
            {
                var m = c.Str("mode", "non_saturating");
                if (m == "non_saturating") return "SoftplusNeg";
                if (m == "minimax") return "NegSoftplus";
                c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("mode"), $"gan_generator_loss mode must be \"non_saturating\" or \"minimax\", got \"{m}\"");
                return null;
            }),
            // cycle-consistency L1 = l1_loss (the losses family's node and kernels)
            new LayerDef("cycle_l1", new[] { T("a"), T("b"), S("reduction", "mean") }, c =>
            {
                var x = c.X("a"); var y = c.X("b");
                if (!Float(c, "a", x) || !Float(c, "b", y)) return c.Error();
                var r = ShapeRules.PairLoss("cycle_l1", "a", x.Shape, "b", y.Shape, rank2: false);
                if (c.Fail(r)) return c.Error();
                var red = Reduction(c, "mean", batchMeanAllowed: false, meanIsBatch: false);
                if (red == null) return c.Error();
                var name = c.Name();
                if (x.Shape.IsUnknown || y.Shape.IsUnknown) return c.Error();
                var node = c.Node("l1_loss", name);
                node.Attrs = new LossAttrs(red.Value == 1, Beta: 1.0);
                node.Inputs.Add(x); node.Inputs.Add(y);
                return c.Emit(node, r.Shape);
            }),
            new LayerDef("triplet_margin", new[] { T("anchor"), T("positive"), T("negative"), F("margin", 1.0), S("reduction", "mean") }, c =>
            {
                var a = c.X("anchor"); var p = c.X("positive"); var n = c.X("negative");
                if (!Float(c, "anchor", a) || !Float(c, "positive", p) || !Float(c, "negative", n)) return c.Error();
                var r = ShapeRules.Triplet(a.Shape, p.Shape, n.Shape);
                if (c.Fail(r)) return c.Error();
                var red = Reduction(c, "mean", batchMeanAllowed: false, meanIsBatch: true);
                if (red == null) return c.Error();
                var name = c.Name();
                if (a.Shape.IsUnknown || p.Shape.IsUnknown || n.Shape.IsUnknown) return c.Error();
                var node = c.Node("triplet_margin", name);
                node.Attrs = new GenAttrs(Reduction: red.Value, Margin: c.Float("margin", 1.0));
                node.Inputs.Add(a); node.Inputs.Add(p); node.Inputs.Add(n);
                return c.Emit(node, r.Shape);
            }, prefix: "triplet"),
            PairLoss("nt_xent", "z1", "z2", "NtXent", batchMeanAllowed: false, meanIsBatch: true, rank2: true,
                extra: new[] { F("temperature", 0.5) }, attrs: (c, n) => n.Attrs = n.A<GenAttrs>() with { Temperature = Positive(c, "temperature", 0.5) }, op: "nt_xent"),
            PairLoss("distill", "student", "teacher", "Distill", batchMeanAllowed: false, meanIsBatch: true, rank2: true,
                extra: new[] { F("temperature", 4.0) }, attrs: (c, n) => n.Attrs = n.A<GenAttrs>() with { Temperature = Positive(c, "temperature", 4.0) }, op: "distill"),
        };

        private static double Positive(LayerCall c, string arg, double dflt)
        {
            double v = c.Float(arg, dflt);
            if (!(v > 0)) c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan(arg), $"{c.Layer} {arg} must be > 0, got {v}");
            return v;
        }

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            // dlogvar = dz·½·σ·ε = ½·dz·noise (noise = z − μ saved by the forward)
            new ElemDef("sample_normal_bwd", 0.5 * P.A(0) * P.A(1)),
        };

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<GenAttrs>("sample_normal", "mu, logvar"),
            OpDef.Of<GenAttrs>("random_fill", ""),
            OpDef.Of<GenAttrs>("pointwise_loss", "a, b?"),
            OpDef.Grad<GenAttrs>("pointwise_loss_bwd", "dy, a, b?"),
            OpDef.Of<GenAttrs>("triplet_margin", "anchor, positive, negative"),
            OpDef.Grad<GenAttrs>("triplet_margin_bwd", "dy, anchor, positive, negative"),
            OpDef.Of<GenAttrs>("nt_xent", "z1, z2"),
            OpDef.Grad<GenAttrs>("nt_xent_bwd", "dy, z1, z2"),
            OpDef.Of<GenAttrs>("distill", "student, teacher"),
            OpDef.Grad<GenAttrs>("distill_bwd", "dy, student, teacher"),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "sample_normal":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], dy!);
                    if (c.Needs(n.Inputs[1])) c.Accumulate(n, n.Inputs[1], c.Out(c.Node("sample_normal_bwd", n, dy!, n.Outputs[1]), n.Inputs[1]));
                    return true;
                case "random_fill":
                    return true; // noise does not depend on anything differentiable
                case "pointwise_loss":
                case "nt_xent":
                case "distill":
                case "triplet_margin":
                {
                    var ins = n.Inputs;
                    bool any = false;
                    foreach (var i in ins) any |= c.Needs(i);
                    if (!any) return true;
                    var inputs = new List<TValue> { dy! };
                    inputs.AddRange(ins);
                    var b = c.Node(n.Op + "_bwd", n, inputs.ToArray());
                    // distill's teacher is a constant (as teacher_logits.detach() in PyTorch recipes): one output
                    // (the element-wise losses skip db when the target needs no gradient: the kernel gets null)
                    int outs = n.Op == "distill" || (n.Op == "pointwise_loss" && !(ins.Count > 1 && c.Needs(ins[1]))) ? 1 : ins.Count;
                    var grads = new List<TValue>();
                    for (int k = 0; k < outs; k++) grads.Add(c.Out(b, ins[k], "d" + ins[k].Name + (k > 0 && ins[k] == ins[0] ? "_" + k : "")));
                    for (int k = 0; k < outs; k++) if (c.Needs(ins[k])) c.Accumulate(n, ins[k], grads[k]);
                    return true;
                }
            }
            return false;
        }

        private static string Red(OpNode n) => n.A<GenAttrs>().Reduction switch { 0 => "GenReduction.Mean", 1 => "GenReduction.Sum", _ => "GenReduction.BatchMean" };

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = c.Node;
            var a = n.A<GenAttrs>();
            string F(double v) => CallContext.T(v);
            string Second() => c.In.Count > 1 ? c.In[1] : c.In[0];
            switch (n.Op)
            {
                case "sample_normal":
                    return $"K.SampleNormalForward({c.In[0]}, {c.In[1]}, {c.Out[1]}, {c.Out[0]}, training || {CallContext.Bool(a.EvalSample)}, NoiseSeed({n.Id}));";
                case "random_fill":
                    return $"K.RandomFill({c.Out[0]}, RandomKind.{a.Kind}, {F(a.A)}, {F(a.B)}, NoiseSeed({n.Id}));";
                case "pointwise_loss":
                    return $"K.PointwiseLossForward(PointwiseLoss.{a.Kind}, {c.In[0]}, {Second()}, {Red(n)}, {c.Out[0]});";
                case "pointwise_loss_bwd":
                    return $"K.PointwiseLossBackward(PointwiseLoss.{a.Kind}, {c.In[0]}, {c.In[1]}, {(c.In.Count > 2 ? c.In[2] : c.In[1])}, {Red(n)}, {c.Out[0]}, {c.OutOrNull(1)});";
                case "triplet_margin":
                    return $"K.TripletMarginForward({c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Margin)}, {Red(n)}, {c.Out[0]});";
                case "triplet_margin_bwd":
                    return $"K.TripletMarginBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {c.In[3]}, {F(a.Margin)}, {Red(n)}, {c.Out[0]}, {c.Out[1]}, {c.Out[2]});";
                case "nt_xent":
                    return $"K.NtXentForward({c.In[0]}, {c.In[1]}, {F(a.Temperature)}, {Red(n)}, {c.Out[0]});";
                case "nt_xent_bwd":
                    return $"K.NtXentBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Temperature)}, {Red(n)}, {c.Out[0]}, {c.Out[1]});";
                case "distill":
                    return $"K.DistillForward({c.In[0]}, {c.In[1]}, {F(a.Temperature)}, {Red(n)}, {c.Out[0]});";
                case "distill_bwd":
                    return $"K.DistillBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Temperature)}, {Red(n)}, {c.Out[0]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            long E(TValue v) => v.Shape.Size.Factor;
            switch (n.Op)
            {
                case "sample_normal": return E(n.Outputs[0]) * 20;
                case "random_fill": return E(n.Outputs[0]) * 20;
                case "pointwise_loss": case "pointwise_loss_bwd": case "triplet_margin": case "triplet_margin_bwd":
                case "distill": case "distill_bwd":
                    return E(n.Inputs[n.IsBackward ? 1 : 0]) * 8;
                case "nt_xent": case "nt_xent_bwd":
                {
                    var z = n.Inputs[n.IsBackward ? 1 : 0].Shape;
                    return 8L * z[1].Value * (z[0].IsKnown ? z[0].Value : 1) + 6L * z[1].Value; // per sample: a row of 2N similarities
                }
            }
            return null;
        }
    }

    internal static class GenerativeListExtensions
    {
        public static List<ArgSpec> Concat2(this List<ArgSpec> l, IEnumerable<ArgSpec> more) { l.AddRange(more); return l; }
    }
}
