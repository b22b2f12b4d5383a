using System.Collections.Generic;
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
    /// Normalization layers (docs/ops/normalization.md), with PyTorch's conventions: batchnorm (running statistics as
    /// buffers, batch statistics in training mode), layernorm, instancenorm, groupnorm and local response normalization.
    /// Each forward node also outputs the statistics its backward needs (mean and 1/√(var+ε), or LRN's scale).
    /// </summary>
    internal sealed class Normalization : OpFamily
    {
        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("batchnorm", new[] { T("x"), F("eps", 1e-5), F("momentum", 0.1) }, BatchNorm, prefix: "bn"),
            new LayerDef("layernorm", new[] { T("x"), I("dims", 1), F("eps", 1e-5), B("affine", true) }, LayerNorm, prefix: "ln"),
            new LayerDef("instancenorm", new[] { T("x"), F("eps", 1e-5), B("affine", false) }, InstanceNorm, prefix: "inorm"),
            new LayerDef("groupnorm", new[] { T("x"), I("groups"), F("eps", 1e-5) }, GroupNorm, prefix: "gn"),
            new LayerDef("lrn", new[] { T("x"), I("size", 5), F("alpha", 1e-4), F("beta", 0.75), F("k", 2.0) }, Lrn),
        };

        // ------------------------------------------------------------------ elaboration

        /// <summary>eps must be positive (it keeps the square root away from zero); false with a diagnostic at the argument.</summary>
        private static bool CheckEps(LayerCall c)
        {
            double eps = c.Float("eps", 1e-5);
            if (eps > 0) return true;
            c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("eps"), $"{c.Layer} eps is added to the variance inside the square root and must be > 0, got {eps}");
            return false;
        }

        /// <summary>Adds an extra output (saved statistics) to <paramref name="node"/>.</summary>
        private static TValue Extra(LayerCall c, OpNode node, string name, Shape shape)
        {
            var v = c.Output(node, name, shape);
            if (!node.Outputs.Contains(v)) node.Outputs.Add(v);
            return v;
        }

        private static CValue BatchNorm(LayerCall c)
        {
            var x = c.X("x");
            var r = ShapeRules.BatchNorm(x.Shape);
            if (c.Fail(r)) return c.Error();
            double momentum = c.Float("momentum", 0.1);
            if (!CheckEps(c)) return c.Error();
            if (momentum < 0 || momentum > 1)
            {
                c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("momentum"), $"batchnorm momentum is the weight of the new batch in the running statistics and must be in [0, 1], got {momentum}");
                return c.Error();
            }
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int ch = x.Shape[1].Value;
            var node = c.Node("batchnorm", name);
            node.Attrs = new BatchNormAttrs(c.Float("eps", 1e-5), momentum);
            node.Inputs.Add(x);
            node.Inputs.Add(c.Param(name, "weight", Shape.Of(ch), InitKind.Ones, 1, 1));
            node.Inputs.Add(c.Param(name, "bias", Shape.Of(ch), InitKind.Zeros, 1, 1));
            node.Inputs.Add(c.Buffer(name, "running_mean", Shape.Of(ch), 0.0));
            node.Inputs.Add(c.Buffer(name, "running_var", Shape.Of(ch), 1.0));
            var y = c.Emit(node, r.Shape);
            Extra(c, node, name + ".mean", Shape.Of(ch));
            Extra(c, node, name + ".invstd", Shape.Of(ch));
            return y;
        }

        private static CValue LayerNorm(LayerCall c)
        {
            var x = c.X("x");
            int dims = c.Int("dims", 1);
            var r = NormShapes.LayerNorm(x.Shape, dims);
            if (c.Fail(r)) return c.Error();
            if (!CheckEps(c)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            bool affine = c.Bool("affine", true);
            var normalized = new Shape(x.Shape.Dims.Skip(x.Shape.Rank - dims));
            var node = c.Node("layernorm", name);
            node.Attrs = new NormAttrs(dims, 0, c.Float("eps", 1e-5), affine);
            node.Inputs.Add(x);
            if (affine)
            {
                node.Inputs.Add(c.Param(name, "weight", normalized, InitKind.Ones, 1, 1));
                node.Inputs.Add(c.Param(name, "bias", normalized, InitKind.Zeros, 1, 1));
            }
            var y = c.Emit(node, r.Shape);
            var stats = new Shape(x.Shape.Dims.Take(x.Shape.Rank - dims));
            Extra(c, node, name + ".mean", stats);
            Extra(c, node, name + ".invstd", stats);
            return y;
        }

        private static CValue InstanceNorm(LayerCall c)
        {
            var x = c.X("x");
            var r = NormShapes.InstanceNorm(x.Shape);
            if (c.Fail(r)) return c.Error();
            if (!CheckEps(c)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            return GroupLike(c, "instancenorm", name, x, x.Shape[1].Value, c.Bool("affine", false), r.Shape);
        }

        private static CValue GroupNorm(LayerCall c)
        {
            var x = c.X("x");
            int groups = c.Int("groups", 0);
            var r = NormShapes.GroupNorm(x.Shape, groups);
            if (c.Fail(r)) return c.Error();
            if (!CheckEps(c)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            return GroupLike(c, "groupnorm", name, x, groups, true, r.Shape);
        }

        /// <summary>groupnorm and instancenorm (groupnorm with one group per channel): statistics per (n, group), affine per channel.</summary>
        private static CValue GroupLike(LayerCall c, string op, string name, TValue x, int groups, bool affine, Shape shape)
        {
            int ch = x.Shape[1].Value;
            var node = c.Node(op, name);
            node.Attrs = new NormAttrs(0, groups, c.Float("eps", 1e-5), affine);
            node.Inputs.Add(x);
            if (affine)
            {
                node.Inputs.Add(c.Param(name, "weight", Shape.Of(ch), InitKind.Ones, 1, 1));
                node.Inputs.Add(c.Param(name, "bias", Shape.Of(ch), InitKind.Zeros, 1, 1));
            }
            var y = c.Emit(node, shape);
            var stats = Shape.Of(x.Shape[0], Dim.Of(groups));
            Extra(c, node, name + ".mean", stats);
            Extra(c, node, name + ".invstd", stats);
            return y;
        }

        private static CValue Lrn(LayerCall c)
        {
            var x = c.X("x");
            int size = c.Int("size", 5);
            var r = NormShapes.Lrn(x.Shape, size);
            if (c.Fail(r)) return c.Error();
            double k = c.Float("k", 2.0), alpha = c.Float("alpha", 1e-4), beta = c.Float("beta", 0.75);
            if (k <= 0)
            {
                c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("k"), $"lrn k must be > 0 (the scale k + alpha/size·Σx² is raised to -beta), got {k}");
                return c.Error();
            }
            if (alpha < 0)
            {
                c.Error(DiagnosticIds.InvalidGeometry, c.ArgSpan("alpha"), $"lrn alpha must be >= 0, got {alpha}");
                return c.Error();
            }
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("lrn", name);
            node.Attrs = new LrnAttrs(size, alpha, beta, k);
            node.Inputs.Add(x);
            var y = c.Emit(node, r.Shape);
            Extra(c, node, name + ".scale", r.Shape);
            return y;
        }

        public override IEnumerable<OpDef> Ops => new[]
        {
            // batchnorm takes a fused activation, folds into a preceding conv/linear at inference, passes the He-init hint
            // through, and its apply step is recomputed in backward instead of kept (Memory/Rematerializer.cs)
            new OpDef("batchnorm", typeof(BatchNormAttrs), "x, weight, bias, running_mean, running_var",
                OpTraits.TakesEpilogue | OpTraits.Foldable | OpTraits.PassesInitHint | OpTraits.Recomputable)
            { RecomputeOp = "batchnorm_apply", Shape = n => ShapeRules.BatchNorm(n.Inputs[0].Shape) },
            OpDef.Grad<BatchNormAttrs>("batchnorm_apply", "x, weight, bias, mean, invstd"),
            OpDef.Grad<BatchNormAttrs>("batchnorm_bwd", "dy, x, weight, mean, invstd", OpTraits.TakesPrologue),
            new OpDef("layernorm", typeof(NormAttrs), "x, weight?, bias?", OpTraits.None) { Shape = OpDef.SameShape },
            new OpDef("groupnorm", typeof(NormAttrs), "x, weight?, bias?", OpTraits.None) { Shape = OpDef.SameShape },
            new OpDef("instancenorm", typeof(NormAttrs), "x, weight?, bias?", OpTraits.None) { Shape = OpDef.SameShape },
            OpDef.Grad<NormAttrs>("layernorm_bwd", "dy, x, weight?, mean, invstd"),
            OpDef.Grad<NormAttrs>("groupnorm_bwd", "dy, x, weight?, mean, invstd"),
            OpDef.Grad<NormAttrs>("instancenorm_bwd", "dy, x, weight?, mean, invstd"),
            new OpDef("lrn", typeof(LrnAttrs), "x", OpTraits.None) { Shape = OpDef.SameShape },
            OpDef.Grad<LrnAttrs>("lrn_bwd", "dy, x, y, scale"),
        };

        // ------------------------------------------------------------------ backward

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "batchnorm":
                {
                    // inputs x, weight, bias, running_mean, running_var; outputs y, mean, invstd
                    var x = n.Inputs[0];
                    var b = c.Node("batchnorm_bwd", n, dy!, x, n.Inputs[1], n.Outputs[1], n.Outputs[2]);
                    b.Grads = new GradMask(Dx: c.Needs(x));
                    TValue? dx = c.Needs(x) ? c.Out(b, x) : null;
                    var dw = c.Out(b, n.Inputs[1]);
                    var db = c.Out(b, n.Inputs[2]);
                    if (dx != null) c.Accumulate(n, x, dx);
                    c.Accumulate(n, n.Inputs[1], dw);
                    c.Accumulate(n, n.Inputs[2], db);
                    return true;
                }
                case "layernorm":
                case "groupnorm":
                case "instancenorm":
                {
                    // inputs x[, weight, bias]; outputs y, mean, invstd
                    var x = n.Inputs[0];
                    bool affine = n.A<NormAttrs>().Affine;
                    if (!affine && !c.Needs(x)) return true;
                    var inputs = new List<TValue> { dy!, x };
                    if (affine) inputs.Add(n.Inputs[1]);
                    inputs.Add(n.Outputs[1]);
                    inputs.Add(n.Outputs[2]);
                    var b = c.Node(n.Op + "_bwd", n, inputs.ToArray());
                    b.Grads = new GradMask(Dx: c.Needs(x));
                    TValue? dx = c.Needs(x) ? c.Out(b, x) : null;
                    TValue? dw = affine ? c.Out(b, n.Inputs[1]) : null;
                    TValue? db = affine ? c.Out(b, n.Inputs[2]) : null;
                    if (dx != null) c.Accumulate(n, x, dx);
                    if (dw != null) c.Accumulate(n, n.Inputs[1], dw);
                    if (db != null) c.Accumulate(n, n.Inputs[2], db);
                    return true;
                }
                case "lrn":
                    c.Unary(n, dy!, "lrn_bwd", n.Inputs[0], n.Outputs[0], n.Outputs[1]);
                    return true;
            }
            return false;
        }

        // ------------------------------------------------------------------ kernel calls

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            var i = c.In; var o = c.Out;
            string Eps() => CallContext.T(n.Attrs is BatchNormAttrs bn ? bn.Eps : n.A<NormAttrs>().Eps);
            switch (n.Op)
            {
                case "batchnorm":
                    // a fused activation (k.Epilogue: the relu after it) is applied as y is written
                    return $"K.BatchNormForward({c.Operand("x")}, {c.Operand("weight")}, {c.Operand("bias")}, {c.Operand("running_mean")}, {c.Operand("running_var")}, {o[0]}, {o[1]}, {o[2]}, training, {Eps()}, {CallContext.T(n.A<BatchNormAttrs>().Momentum)}{(k.Epilogue != null ? ", " + c.Epilogue : "")});";
                case "batchnorm_apply":
                    // rematerialization: the forward output recomputed from x and the saved statistics (inputs x, weight, bias, mean, invstd)
                    return $"K.BatchNormApply({i[0]}, {i[1]}, {i[2]}, {i[3]}, {i[4]}, {o[0]}, {c.Epilogue});";
                case "batchnorm_bwd":
                {
                    // inputs dy, x, weight, mean, invstd; outputs [dx,] dweight, dbias. Backward runs in the mode of the forward pass.
                    bool hasDx = n.Grads!.Dx;
                    string dx = hasDx ? o[0] : "null", dw = o[hasDx ? 1 : 0], db = o[hasDx ? 2 : 1];
                    if (k.Prologue == null)
                        return $"K.BatchNormBackward({i[0]}, {i[1]}, {i[2]}, {i[3]}, {i[4]}, {dx}, {dw}, {db}, Training);";
                    // fused prologue: dy = f(a, b[, c]) computed as it is read; written to its own buffer only when other kernels read it
                    string dyOut = k.PrologueOutput != null ? o[o.Count - 1] : "null";
                    return $"K.BatchNormBackward({string.Join(", ", c.PrologueIn)}, {i[1]}, {i[2]}, {i[3]}, {i[4]}, {dyOut}, {dx}, {dw}, {db}, Training, {c.Epilogue});";
                }
                case "layernorm":
                case "groupnorm":
                case "instancenorm":
                {
                    bool affine = n.A<NormAttrs>().Affine;
                    string w = affine ? i[1] : "null", b = affine ? i[2] : "null";
                    return n.Op == "layernorm"
                        ? $"K.LayerNormForward({i[0]}, {w}, {b}, {o[0]}, {o[1]}, {o[2]}, {n.A<NormAttrs>().Dims}, {Eps()});"
                        : $"K.GroupNormForward({i[0]}, {w}, {b}, {o[0]}, {o[1]}, {o[2]}, {n.A<NormAttrs>().Groups}, {Eps()});";
                }
                case "layernorm_bwd":
                case "groupnorm_bwd":
                case "instancenorm_bwd":
                {
                    // inputs dy, x, [weight,] mean, invstd; outputs [dx,] [dweight, dbias]
                    bool affine = n.A<NormAttrs>().Affine, hasDx = n.Grads!.Dx;
                    int s = affine ? 3 : 2;
                    string w = affine ? i[2] : "null";
                    string dx = hasDx ? o[0] : "null";
                    string dw = affine ? o[hasDx ? 1 : 0] : "null", db = affine ? o[hasDx ? 2 : 1] : "null";
                    return n.Op == "layernorm_bwd"
                        ? $"K.LayerNormBackward({i[0]}, {i[1]}, {w}, {i[s]}, {i[s + 1]}, {dx}, {dw}, {db}, {n.A<NormAttrs>().Dims});"
                        : $"K.GroupNormBackward({i[0]}, {i[1]}, {w}, {i[s]}, {i[s + 1]}, {dx}, {dw}, {db}, {n.A<NormAttrs>().Groups});";
                }
                case "lrn":
                {
                    var a = n.A<LrnAttrs>();
                    return $"K.LocalResponseNormForward({i[0]}, {o[0]}, {o[1]}, {a.Size}, {CallContext.T(a.Alpha)}, {CallContext.T(a.Beta)}, {CallContext.T(a.K)});";
                }
                case "lrn_bwd":
                {
                    var a = n.A<LrnAttrs>();
                    return $"K.LocalResponseNormBackward({i[0]}, {i[1]}, {i[2]}, {i[3]}, {o[0]}, {a.Size}, {CallContext.T(a.Alpha)}, {CallContext.T(a.Beta)});";
                }
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            long e = fwd.Inputs[0].Shape.Size.Factor;   // elements per sample of x
            switch (n.Op)
            {
                // statistics (2 passes, ~3 FLOPs per element) and the affine normalization (~4)
                case "batchnorm": case "layernorm": case "groupnorm": case "instancenorm": return 7 * e;
                // the affine map alone, (x − mean)·a + b (rematerialization)
                case "batchnorm_apply": return 3 * e;
                // two reductions and the dx formula
                case "batchnorm_bwd": case "layernorm_bwd": case "groupnorm_bwd": case "instancenorm_bwd": return 10 * e;
                // the window sum of squares, then a power and a product
                case "lrn": return (2L * fwd.A<LrnAttrs>().Size + 4) * e;
                case "lrn_bwd": return (3L * fwd.A<LrnAttrs>().Size + 6) * e;
            }
            return null;
        }
    }

    /// <summary>Shape rules of the normalization family (pure functions; the errors name both sides).</summary>
    internal static class NormShapes
    {
        /// <summary>layernorm over the last <paramref name="dims"/> dims: same shape; those dims must be known (they shape weight and bias).</summary>
        public static ShapeResult LayerNorm(Shape x, int dims)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 2)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"layernorm expects an input with a batch dim and at least one more, [N, ...], got {x.ToDisplay()} ({x.Rank}-D)");
            if (dims < 1 || dims > x.Rank - 1)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"layernorm dims = {dims} must be between 1 and {x.Rank - 1} (the dims after the batch dim) for {x.ToDisplay()}");
            for (int i = x.Rank - dims; i < x.Rank; i++)
                if (!x[i].IsKnown)
                    return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"layernorm normalizes the last {dims} dim(s) of {x.ToDisplay()} and needs them known (they shape its weight), but dim {i} is {x[i]}");
            return ShapeResult.Ok(x);
        }

        /// <summary>instancenorm: [N, C, H, W] → same; statistics over H·W, which must be more than one element.</summary>
        public static ShapeResult InstanceNorm(Shape x)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank != 4)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"instancenorm expects a 4-D input [N, C, H, W], got {x.ToDisplay()} ({x.Rank}-D)");
            for (int i = 1; i < 4; i++)
                if (!x[i].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"instancenorm needs known C, H and W, got {x.ToDisplay()}");
            if (x[2].Value * x[3].Value < 2)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"instancenorm normalizes each [H, W] plane and needs more than one element in it, got {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>groupnorm: [N, C, *] → same; groups must divide C.</summary>
        public static ShapeResult GroupNorm(Shape x, int groups)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 2)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"groupnorm expects [N, C] or [N, C, ...], got {x.ToDisplay()} ({x.Rank}-D)");
            for (int i = 1; i < x.Rank; i++)
                if (!x[i].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"groupnorm needs known dims after the batch dim, got {x.ToDisplay()}");
            int ch = x[1].Value;
            if (groups < 1 || ch % groups != 0)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"groupnorm groups = {groups} must divide the channel count {ch} of {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }

        /// <summary>lrn: [N, C, *] (3-D or more, as PyTorch) → same; the window runs over C.</summary>
        public static ShapeResult Lrn(Shape x, int size)
        {
            if (x.IsUnknown) return ShapeResult.Ok(Shape.Unknown);
            if (x.Rank < 3)
                return ShapeResult.Fail(DiagnosticIds.RankMismatch, $"lrn expects [N, C, H, W] or [N, C, L] (3-D or more), got {x.ToDisplay()} ({x.Rank}-D)");
            for (int i = 1; i < x.Rank; i++)
                if (!x[i].IsKnown) return ShapeResult.Fail(DiagnosticIds.SymbolicDimNotAllowed, $"lrn needs known dims after the batch dim, got {x.ToDisplay()}");
            if (size < 1)
                return ShapeResult.Fail(DiagnosticIds.InvalidGeometry, $"lrn size = {size} (channels in the window) must be >= 1 for {x.ToDisplay()}");
            return ShapeResult.Ok(x);
        }
    }
}
