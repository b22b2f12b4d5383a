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
    /// Losses (docs/ops/losses.md): each is a scalar [1] with an explicit reduction ("mean" default, or "sum"), and each
    /// backward reads its upstream gradient dy [1] (the backward pass is seeded with a [1] of ones, so a loss may be any
    /// scalar expression: `cross_entropy(y, label) + l2_penalty(1e-4)`, `0.5 * mse(a, t)`; `number * tensor` is the tensor
    /// family's `scale` op).
    /// </summary>
    internal sealed class Losses : OpFamily
    {
        private static ArgSpec Reduction => S("reduction", "mean");

        /// <summary>The reduction argument as "sum" → true, "mean" → false; null (with a diagnostic) otherwise.</summary>
        private static bool? Sum(LayerCall c)
        {
            var r = c.Str("reduction", "mean");
            if (r == "mean") return false;
            if (r == "sum") return true;
            c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("reduction"), $"{c.Layer} reduction must be \"mean\" or \"sum\", got \"{r}\"");
            return null;
        }

        private static bool IntLabels(LayerCall c, TValue labels)
        {
            if (labels.Type == ElemType.Int) return true;
            c.Error(DiagnosticIds.TypeMismatch, $"{c.Layer} needs int labels (declare `input label: int[N]`), got a float tensor {labels.Shape.ToDisplay()}");
            return false;
        }

        private static bool FloatTarget(LayerCall c, TValue target)
        {
            if (target.Type == ElemType.Float) return true;
            c.Error(DiagnosticIds.TypeMismatch, $"{c.Layer} needs a float target (declare `input target: [N, ...]`), got int{target.Shape.ToDisplay()}");
            return false;
        }

        /// <summary>A classification loss: scores [N, C], int labels [N] → [1]; optional class weights; a second output kept for backward.</summary>
        private static LayerDef ClassLayer(string layer, ArgSpec[] args, bool weights, string? saved, System.Action<LayerCall, OpNode>? attrs = null) =>
            new LayerDef(layer, args, c =>
            {
                var scores = c.X(args[0].Name); var labels = c.X("labels");
                if (!IntLabels(c, labels)) return c.Error();
                var r = ShapeRules.ClassLoss(layer, scores.Shape, labels.Shape);
                if (c.Fail(r)) return c.Error();
                var w = weights ? c.Floats("weights") : null;
                if (w != null && c.Fail(ShapeRules.ClassWeights(layer, scores.Shape, w))) return c.Error();
                var sum = Sum(c);
                if (sum == null) return c.Error();
                var name = c.Name();
                if (scores.Shape.IsUnknown || labels.Shape.IsUnknown) return c.Error();
                var node = c.Node(layer, name);
                node.Attrs = new LossAttrs(sum.Value, w);
                attrs?.Invoke(c, node);
                node.Inputs.Add(scores); node.Inputs.Add(labels);
                var result = c.Emit(node, r.Shape);
                if (saved != null) node.Outputs.Add(c.Output(node, name + "." + saved, scores.Shape));
                return result;
            });

        private static LayerDef RegressionLayer(string layer, bool beta) =>
            new LayerDef(layer, beta ? new[] { T("y"), T("target"), F("beta", 1.0), Reduction } : new[] { T("y"), T("target"), Reduction }, c =>
            {
                var y = c.X("y"); var t = c.X("target");
                if (!FloatTarget(c, t)) return c.Error();
                var r = ShapeRules.Regression(layer, y.Shape, t.Shape);
                if (c.Fail(r)) return c.Error();
                double b = c.Float("beta", 1.0);
                if (beta && !(b >= 0)) { c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("beta"), $"smooth_l1 beta must be >= 0, got {b}"); return c.Error(); }
                var sum = Sum(c);
                if (sum == null) return c.Error();
                var name = c.Name();
                if (y.Shape.IsUnknown || t.Shape.IsUnknown) return c.Error();
                var node = c.Node(layer, name);
                node.Attrs = new LossAttrs(sum.Value, Beta: b);
                node.Inputs.Add(y); node.Inputs.Add(t);
                return c.Emit(node, r.Shape);
            });

        public override IEnumerable<LayerDef> Layers => new[]
        {
            // softmax cross-entropy, PyTorch's F.cross_entropy(logits, labels, weight, label_smoothing, reduction)
            ClassLayer("cross_entropy", new[] { T("logits"), T("labels"), F("smoothing", 0.0), Fs("weights"), Reduction }, weights: true, saved: "probs",
                (c, n) => n.Attrs = n.A<LossAttrs>() with { Smoothing = c.Float("smoothing", 0.0) }),
            ClassLayer("nll_loss", new[] { T("logp"), T("labels"), Fs("weights"), Reduction }, weights: true, saved: null),
            ClassLayer("hinge", new[] { T("logits"), T("labels"), F("margin", 1.0), B("squared", false), Reduction }, weights: false, saved: null,
                (c, n) => n.Attrs = n.A<LossAttrs>() with { Margin = c.Float("margin", 1.0), Squared = c.Bool("squared", false) }),
            ClassLayer("focal", new[] { T("logits"), T("labels"), F("gamma", 2.0), F("alpha", 1.0), Reduction }, weights: false, saved: "probs",
                (c, n) => n.Attrs = n.A<LossAttrs>() with { Gamma = c.Float("gamma", 2.0), Alpha = c.Float("alpha", 1.0) }),
            RegressionLayer("mse", beta: false),
            RegressionLayer("l1_loss", beta: false),
            RegressionLayer("smooth_l1", beta: true),
        };

        private static readonly HashSet<string> Regression = new HashSet<string> { "mse", "l1_loss", "smooth_l1" };

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<LossAttrs>("cross_entropy", "logits, labels"),
            OpDef.Grad<LossAttrs>("cross_entropy_bwd", "dy, probs, labels"),
            OpDef.Of<LossAttrs>("nll_loss", "logp, labels"),
            OpDef.Grad<LossAttrs>("nll_loss_bwd", "dy, labels"),
            OpDef.Of<LossAttrs>("hinge", "logits, labels"),
            OpDef.Grad<LossAttrs>("hinge_bwd", "dy, logits, labels"),
            OpDef.Of<LossAttrs>("focal", "logits, labels"),
            OpDef.Grad<LossAttrs>("focal_bwd", "dy, probs, labels"),
            OpDef.Of<LossAttrs>("mse", "y, target"),
            OpDef.Grad<LossAttrs>("mse_bwd", "dy, y, target"),
            OpDef.Of<LossAttrs>("l1_loss", "y, target"),
            OpDef.Grad<LossAttrs>("l1_loss_bwd", "dy, y, target"),
            OpDef.Of<LossAttrs>("smooth_l1", "y, target"),
            OpDef.Grad<LossAttrs>("smooth_l1_bwd", "dy, y, target"),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "cross_entropy":
                case "focal":
                    // reads the saved softmax
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], c.Out(c.Node(n.Op + "_bwd", n, dy!, n.Outputs[1], n.Inputs[1]), n.Inputs[0]));
                    return true;
                case "nll_loss":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], c.Out(c.Node("nll_loss_bwd", n, dy!, n.Inputs[1]), n.Inputs[0]));
                    return true;
                case "hinge":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], c.Out(c.Node("hinge_bwd", n, dy!, n.Inputs[0], n.Inputs[1]), n.Inputs[0]));
                    return true;
                case "mse":
                case "l1_loss":
                case "smooth_l1":
                {
                    var y = n.Inputs[0]; var t = n.Inputs[1];
                    if (!c.Needs(y) && !c.Needs(t)) return true;
                    var d = c.Out(c.Node(n.Op + "_bwd", n, dy!, y, t), y);
                    if (c.Needs(y)) c.Accumulate(n, y, d);
                    if (c.Needs(t))
                    {
                        // the loss depends on y − target: the target's gradient is the negated prediction gradient (the
                        // element-wise `scale` op of Ops/TensorOps.cs, constant k)
                        var neg = c.Node("scale", n, d);
                        neg.Attrs = new ElemAttrs(-1.0);
                        c.Accumulate(n, t, c.Out(neg, t));
                    }
                    return true;
                }
            }
            return false;
        }

        private static string Red(OpNode n) => n.A<LossAttrs>().Sum ? "LossReduction.Sum" : "LossReduction.Mean";

        /// <summary>The class weights as a span argument: a stack collection expression (no allocation) or an empty span.</summary>
        private static string Weights(OpNode n) => n.A<LossAttrs>().Weights is { } ws
            ? "[" + string.Join(", ", ws.Select(CallContext.T)) + "]"
            : "ReadOnlySpan<T>.Empty";

        private static string Kind(string op) => op switch
        {
            "mse" or "mse_bwd" => "RegressionLoss.Mse",
            "l1_loss" or "l1_loss_bwd" => "RegressionLoss.L1",
            _ => "RegressionLoss.SmoothL1",
        };

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = c.Node;
            var a = n.A<LossAttrs>();
            string F(double v) => CallContext.T(v);
            switch (n.Op)
            {
                case "cross_entropy":
                    return $"K.CrossEntropyForward({c.In[0]}, {c.In[1]}, {Weights(n)}, {F(a.Smoothing)}, {Red(n)}, {c.Out[1]}, {c.Out[0]});";
                case "cross_entropy_bwd":
                    return $"K.CrossEntropyBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {Weights(n)}, {F(a.Smoothing)}, {Red(n)}, {c.Out[0]});";
                case "nll_loss": return $"K.NllLossForward({c.In[0]}, {c.In[1]}, {Weights(n)}, {Red(n)}, {c.Out[0]});";
                case "nll_loss_bwd": return $"K.NllLossBackward({c.In[0]}, {c.In[1]}, {Weights(n)}, {Red(n)}, {c.Out[0]});";
                case "hinge": return $"K.MultiMarginForward({c.In[0]}, {c.In[1]}, {F(a.Margin)}, {CallContext.Bool(a.Squared)}, {Red(n)}, {c.Out[0]});";
                case "hinge_bwd": return $"K.MultiMarginBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Margin)}, {CallContext.Bool(a.Squared)}, {Red(n)}, {c.Out[0]});";
                case "focal": return $"K.FocalLossForward({c.In[0]}, {c.In[1]}, {F(a.Gamma)}, {F(a.Alpha)}, {Red(n)}, {c.Out[1]}, {c.Out[0]});";
                case "focal_bwd": return $"K.FocalLossBackward({c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Gamma)}, {F(a.Alpha)}, {Red(n)}, {c.Out[0]});";
                case "mse": case "l1_loss": case "smooth_l1":
                    return $"K.RegressionLossForward({Kind(n.Op)}, {c.In[0]}, {c.In[1]}, {F(a.Beta)}, {Red(n)}, {c.Out[0]});";
                case "mse_bwd": case "l1_loss_bwd": case "smooth_l1_bwd":
                    return $"K.RegressionLossBackward({Kind(n.Op)}, {c.In[0]}, {c.In[1]}, {c.In[2]}, {F(a.Beta)}, {Red(n)}, {c.Out[0]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            long E(TValue v) => v.Shape.Size.Factor;
            switch (n.Op)
            {
                case "cross_entropy": case "focal": return E(n.Inputs[0]) * 6;
                case "cross_entropy_bwd": case "focal_bwd": return E(n.Outputs[0]) * 3;
                case "nll_loss": case "nll_loss_bwd": return 2;
                case "hinge": case "hinge_bwd": return E(n.Inputs[0]) * 4;
            }
            if (Regression.Contains(n.Op) || (n.Op.EndsWith("_bwd", System.StringComparison.Ordinal) && Regression.Contains(n.Op.Substring(0, n.Op.Length - 4))))
                return E(n.Op.EndsWith("_bwd", System.StringComparison.Ordinal) ? n.Outputs[0] : n.Inputs[0]) * 3;
            return null;
        }
    }
}
