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
    /// Tensor operators (docs/ops/tensor.md): arithmetic with PyTorch broadcasting (a + b, a - b, a * b, scalars), matmul,
    /// views (reshape, flatten), copies (transpose, permute, slice, split, concat), reductions (sum, mean), scale_channels
    /// and gram. Same-shape arithmetic stays element-wise and fuses; broadcasting arithmetic is a library kernel whose
    /// backward sums over the broadcast dims (<c>sum_to</c>).
    /// </summary>
    internal sealed class TensorOps : OpFamily
    {
        private static readonly ArgSpec[] Pair = { T("a"), T("b") };

        public override IEnumerable<LayerDef> Layers => new[]
        {
            new LayerDef("add", Pair, c => Binary(c, "add", c.Value("a")!, c.Value("b")!)),
            new LayerDef("sub", Pair, c => Binary(c, "sub", c.Value("a")!, c.Value("b")!)),
            new LayerDef("mul", Pair, c => Binary(c, "mul", c.Value("a")!, c.Value("b")!)),
            new LayerDef("matmul", Pair, MatMul),
            new LayerDef("reshape", new[] { T("x"), new ArgSpec("shape", ArgType.Any, true) }, Reshape),
            new LayerDef("flatten", new[] { T("x"), I("start", 1) }, Flatten),
            new LayerDef("transpose", new[] { T("x"), I("a"), I("b") }, Transpose),
            new LayerDef("permute", new[] { T("x"), Is("dims") }, Permute),
            new LayerDef("slice", new[] { T("x"), I("axis"), I("start"), IOpt("end", "the axis size"), I("step", 1) }, Slice),
            new LayerDef("split", new[] { T("x"), Is("sizes"), I("axis", 1) }, Split),
            new LayerDef("concat", new[] { Ts("xs"), I("axis", 1) }, Concat),
            new LayerDef("sum", new[] { T("x"), Is("axis"), B("keepdim", false) }, c => Reduce(c, "sum")),
            new LayerDef("mean", new[] { T("x"), Is("axis"), B("keepdim", false) }, c => Reduce(c, "mean")),
            new LayerDef("scale_channels", new[] { T("x"), T("s") }, ScaleChannels),
            new LayerDef("gram", new[] { T("x") }, Gram),
        };

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            new ElemDef("sub", P.A(0) - P.A(1)),
            new ElemDef("mul", P.A(0) * P.A(1)),
            // k·a: scalar multiples (0.5 * x, x / 4) and the gradients of affine and sub
            new ElemDef("scale", P.K(0) * P.X, epilogue: true, "k"),
            // k·a + c: x + 1, x - 1, 1 - x
            new ElemDef("affine", P.K(0) * P.X + P.K(1), epilogue: true, "k", "c"),
        };

        public override IEnumerable<OpDef> Ops => new[]
        {
            // same-shape sub and mul, scale and affine are element-wise (their definitions are the ElemDefs above)
            new OpDef("broadcast_add", typeof(NoAttrs), "a, b", OpTraits.None) { InBothPasses = true, Shape = n => ShapeRules.Broadcast("add", n.Inputs[0].Shape, n.Inputs[1].Shape) },
            new OpDef("broadcast_sub", typeof(NoAttrs), "a, b", OpTraits.None) { InBothPasses = true, Shape = n => ShapeRules.Broadcast("sub", n.Inputs[0].Shape, n.Inputs[1].Shape) },
            new OpDef("broadcast_mul", typeof(NoAttrs), "a, b", OpTraits.None) { InBothPasses = true, Shape = n => ShapeRules.Broadcast("mul", n.Inputs[0].Shape, n.Inputs[1].Shape) },
            OpDef.Grad<SumToAttrs>("sum_to", "dy"),
            new OpDef("matmul", typeof(NoAttrs), "a, b", OpTraits.None) { Shape = n => ShapeRules.MatMul(n.Inputs[0].Shape, n.Inputs[1].Shape) },
            OpDef.Grad("matmul_bwd_a", "dy, b"),
            OpDef.Grad("matmul_bwd_b", "a, dy"),
            OpDef.Both("reshape", "x", OpTraits.View),
            new OpDef("permute", typeof(PermuteAttrs), "x", OpTraits.None) { InBothPasses = true, Shape = n => ShapeRules.Permute(n.Inputs[0].Shape, n.A<PermuteAttrs>().Perm, out _) },
            OpDef.Of<SliceAttrs>("slice", "x"),
            OpDef.Grad<SliceAttrs>("slice_bwd", "dy"),
            new OpDef("concat", typeof(AxisAttrs), "xs*", OpTraits.None) { Shape = n => ShapeRules.Concat(n.Inputs.Select(i => i.Shape).ToList(), n.A<AxisAttrs>().Axis) },
            OpDef.Grad<AxisAttrs>("concat_bwd", "dy"),
            OpDef.Of<ReduceAttrs>("sum", "x"),
            OpDef.Of<ReduceAttrs>("mean", "x"),
            OpDef.Grad<ReduceAttrs>("broadcast_to", "dy"),
            OpDef.Of("gram", "x"),
            OpDef.Grad("gram_bwd", "dy, x"),
        };

        // ------------------------------------------------------------------ elaboration

        private static bool IsNumber(CValue v) => v is IntValue || v is FloatValue;
        private static double Num(CValue v) => v is IntValue i ? i.Value : ((FloatValue)v).Value;

        /// <summary>
        /// a op b for op in add, sub, mul, div where at least one side is a tensor (the `+ - * /` operators and the add/sub/mul
        /// functions). Equal shapes give an element-wise op, broadcastable shapes a broadcast kernel, a number an affine map.
        /// </summary>
        internal static CValue Binary(LayerCall c, string op, CValue a, CValue b)
        {
            if (a is TensorValue ta && b is TensorValue tb)
            {
                if (op == "div") { c.Error(DiagnosticIds.TypeMismatch, $"division of tensors is not supported ({ta.Value.Shape.ToDisplay()} / {tb.Value.Shape.ToDisplay()}); divide by a number"); return c.Error(); }
                var x = ta.Value; var y = tb.Value;
                var r = ShapeRules.Broadcast(op, x.Shape, y.Shape);
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node(x.Shape.Equals(y.Shape) ? op : "broadcast_" + op, name);
                node.Inputs.Add(x); node.Inputs.Add(y);
                return c.Emit(node, r.Shape);
            }
            bool tensorLeft = a is TensorValue;
            var t = tensorLeft ? ((TensorValue)a).Value : ((TensorValue)b).Value;
            var other = tensorLeft ? b : a;
            if (!IsNumber(other))
            {
                c.Error(DiagnosticIds.TypeMismatch, $"{op} needs a tensor and a tensor or a number, got {a.TypeName} and {b.TypeName}");
                return c.Error();
            }
            double k = Num(other), scale, shift;
            switch (op)
            {
                case "add": scale = 1; shift = k; break;
                case "sub": scale = tensorLeft ? 1 : -1; shift = tensorLeft ? -k : k; break;
                case "mul": scale = k; shift = 0; break;
                case "div":
                    if (!tensorLeft) { c.Error(DiagnosticIds.TypeMismatch, $"a number divided by a tensor is not supported ({k} / {t.Shape.ToDisplay()})"); return c.Error(); }
                    if (k == 0) { c.Error(DiagnosticIds.TypeMismatch, "division of a tensor by zero"); return c.Error(); }
                    scale = 1 / k; shift = 0; break;
                default: c.Error(DiagnosticIds.TypeMismatch, $"operator {op} does not apply to tensors"); return c.Error();
            }
            var nm = c.Name();
            if (t.Shape.IsUnknown) return c.Error();
            var n = c.Node(shift == 0 ? "scale" : "affine", nm);
            n.Attrs = shift == 0 ? new ElemAttrs(scale) : new ElemAttrs(scale, shift);
            n.Inputs.Add(t);
            return c.Emit(n, t.Shape);
        }

        private static CValue MatMul(LayerCall c)
        {
            var a = c.X("a"); var b = c.X("b");
            var r = ShapeRules.MatMul(a.Shape, b.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("matmul", name);
            node.Inputs.Add(a); node.Inputs.Add(b);
            long k = a.Shape[a.Shape.Rank - 1].Value;
            return c.Emit(node, r.Shape, r.Shape.Size.Factor * k);
        }

        /// <summary>A view node (no kernel): <paramref name="x"/> seen with <paramref name="shape"/>, added to the graph without a summary row.</summary>
        private static TValue View(LayerCall c, TValue x, Shape shape, string layer)
        {
            var node = c.Node("reshape", layer);
            node.Inputs.Add(x);
            var v = c.Graph.NewValue(layer, shape);
            node.Outputs.Add(v);
            c.Graph.AddNode(node);
            v.AliasOf = x;
            return v;
        }

        private static CValue Alias(LayerCall c, string op, TValue x, ShapeResult r)
        {
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node(op, name);
            node.Inputs.Add(x);
            var tv = (TensorValue)c.Emit(node, r.Shape);
            tv.Value.AliasOf = x;
            return tv;
        }

        private static CValue Reshape(LayerCall c)
        {
            var x = c.X("x");
            var v = c.Value("shape");
            var items = v is ListValue l ? l.Items : v is TupleValue t ? t.Items : v is IntValue || v is SymbolValue ? new[] { v } : null;
            var dims = new List<Dim?>();
            if (items != null && items.Any(i => i is ErrorValue)) { c.Name(); return c.Error(); }
            if (items != null)
                foreach (var it in items)
                {
                    if (it is IntValue i && i.Value == -1) dims.Add(null);
                    else if (it is IntValue j) dims.Add(Dim.Of((int)j.Value));
                    else if (it is SymbolValue s) dims.Add(Dim.Sym(s.Symbol));
                    else { items = null; break; }
                }
            if (items == null)
            {
                c.Error(DiagnosticIds.TypeMismatch, c.ArgSpan("shape"), $"reshape needs a shape such as [N, 4, -1] (ints, symbols and one -1), got {v?.TypeName} {v}");
                return c.Error();
            }
            return Alias(c, "reshape", x, ShapeRules.Reshape(x.Shape, dims));
        }

        private static CValue Flatten(LayerCall c) => Alias(c, "flatten", c.X("x"), ShapeRules.Flatten(c.X("x").Shape, c.Int("start", 1)));

        private static CValue PermuteNode(LayerCall c, TValue x, ShapeResult r, int[] perm)
        {
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("permute", name);
            node.Attrs = new PermuteAttrs(perm);
            node.Inputs.Add(x);
            return c.Emit(node, r.Shape);
        }

        private static CValue Transpose(LayerCall c)
        {
            var x = c.X("x");
            if (x.Shape.IsUnknown) { c.Name(); return c.Error(); }
            int i = ShapeRules.Axis(c.Int("a"), x.Shape.Rank), j = ShapeRules.Axis(c.Int("b"), x.Shape.Rank);
            if (i < 0 || j < 0)
            {
                c.Error(DiagnosticIds.InvalidGeometry, $"transpose dims ({c.Int("a")}, {c.Int("b")}) are out of range for {x.Shape.ToDisplay()} ({x.Shape.Rank}-D)");
                return c.Error();
            }
            var perm = Enumerable.Range(0, x.Shape.Rank).ToArray();
            perm[i] = j; perm[j] = i;
            var r = ShapeRules.Permute(x.Shape, perm, out var p);
            return PermuteNode(c, x, r, p);
        }

        private static int[] IntList(CValue? v) =>
            v is IntValue i ? new[] { (int)i.Value } : (v is TupleValue t ? t.Items : ((ListValue)v!).Items).Select(x => (int)((IntValue)x).Value).ToArray();

        private static CValue Permute(LayerCall c)
        {
            var x = c.X("x");
            var r = ShapeRules.Permute(x.Shape, IntList(c.Value("dims")), out var p);
            return PermuteNode(c, x, r, p);
        }

        private static CValue Slice(LayerCall c)
        {
            var x = c.X("x");
            int? end = c.Has("end") ? c.Int("end") : (int?)null;
            var r = ShapeRules.Slice(x.Shape, c.Int("axis"), c.Int("start"), end, c.Int("step", 1), out var start);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("slice", name);
            node.Attrs = new SliceAttrs(ShapeRules.Axis(c.Int("axis"), x.Shape.Rank), start, c.Int("step", 1));
            node.Inputs.Add(x);
            return c.Emit(node, r.Shape);
        }

        /// <summary>split: a tuple of slices along the axis (each a strided copy; the backward of each scatters into its part of dx).</summary>
        private static CValue Split(LayerCall c)
        {
            var x = c.X("x");
            var v = c.Value("sizes");
            var sizes = IntList(v);
            var r = ShapeRules.SplitSizes(x.Shape, c.Int("axis", 1), sizes, v is IntValue, out var parts);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            int axis = ShapeRules.Axis(c.Int("axis", 1), x.Shape.Rank), off = 0;
            var items = new List<CValue>();
            foreach (var p in parts)
            {
                var node = c.Node("slice", name);
                node.Attrs = new SliceAttrs(axis, off, 1);
                node.Inputs.Add(x);
                items.Add(c.Emit(node, x.Shape.With(axis, Dim.Of(p))));
                off += p;
            }
            return new TupleValue(items);
        }

        private static CValue Concat(LayerCall c)
        {
            var xs = c.Xs("xs");
            int axis = c.Int("axis", 1);
            if (xs.Count > 0 && !xs[0].Shape.IsUnknown)
            {
                if (xs[0].Shape.Rank > ShapeRules.MaxTensorRank) { c.Error(DiagnosticIds.RankMismatch, $"concat supports tensors of up to {ShapeRules.MaxTensorRank} dims, got {xs[0].Shape.ToDisplay()}"); return c.Error(); }
                int a = ShapeRules.Axis(axis, xs[0].Shape.Rank);
                if (a >= 0) axis = a;
            }
            var r = ShapeRules.Concat(xs.Select(t => t.Shape).ToList(), axis);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("concat", name);
            node.Attrs = new AxisAttrs(axis);
            node.Inputs.AddRange(xs);
            return c.Emit(node, r.Shape);
        }

        /// <summary>sum / mean over axes: one kernel into the keepdim shape, then (without keepdim) a view that drops the reduced dims.</summary>
        private static CValue Reduce(LayerCall c, string op)
        {
            var x = c.X("x");
            bool keepdim = c.Bool("keepdim", false);
            var r = ShapeRules.Reduce(op, x.Shape, IntList(c.Value("axis")), keepdim, out var keep, out var axes);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node(op, name);
            // the mean divides by the reduced count: a known factor times the reduced symbols (mean over N divides by N at run time)
            var reduced = new Shape(axes.Select(i => x.Shape[i]));
            node.Attrs = new ReduceAttrs(reduced.Size.Factor, reduced.Size.Symbols);
            node.Inputs.Add(x);
            var kept = (TensorValue)c.Emit(node, keep);
            return keepdim ? kept : new TensorValue(View(c, kept.Value, r.Shape, name));
        }

        /// <summary>scale_channels(x [N,C,H,W], s [N,C]): s viewed as [N,C,1,1] and a broadcasting multiply (its backward sums ds over H, W).</summary>
        private static CValue ScaleChannels(LayerCall c)
        {
            var x = c.X("x"); var s = c.X("s");
            var r = ShapeRules.ScaleChannels(x.Shape, s.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var s4 = View(c, s, Shape.Of(s.Shape[0], s.Shape[1], Dim.Of(1), Dim.Of(1)), name + ".s");
            var node = c.Node("broadcast_mul", name);
            node.Inputs.Add(x); node.Inputs.Add(s4);
            return c.Emit(node, r.Shape);
        }

        private static CValue Gram(LayerCall c)
        {
            var x = c.X("x");
            var r = ShapeRules.Gram(x.Shape);
            if (c.Fail(r)) return c.Error();
            var name = c.Name();
            if (r.Shape.IsUnknown) return c.Error();
            var node = c.Node("gram", name);
            node.Inputs.Add(x);
            long ch = x.Shape[1].Value, hw = (long)x.Shape[2].Value * x.Shape[3].Value;
            return c.Emit(node, r.Shape, ch * ch * hw);
        }

        // ------------------------------------------------------------------ backward

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            var y = n.Outputs[0];
            switch (n.Op)
            {
                case "sub":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], dy!);
                    if (c.Needs(n.Inputs[1])) c.Accumulate(n, n.Inputs[1], Scale(c, n, dy!, -1, n.Inputs[1]));
                    return true;
                case "mul":
                    for (int i = 0; i < 2; i++)
                        if (c.Needs(n.Inputs[i])) c.Accumulate(n, n.Inputs[i], c.Out(c.Node("mul", n, dy!, n.Inputs[1 - i]), n.Inputs[i]));
                    return true;
                case "scale":
                case "affine":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], Scale(c, n, dy!, n.A<ElemAttrs>()[0], n.Inputs[0]));
                    return true;
                case "broadcast_add":
                case "broadcast_sub":
                case "broadcast_mul":
                    for (int i = 0; i < 2; i++)
                    {
                        var x = n.Inputs[i];
                        if (!c.Needs(x)) continue;
                        var g = dy!;
                        if (n.Op == "broadcast_mul")
                        {
                            var other = n.Inputs[1 - i];
                            g = c.Out(c.Node(other.Shape.Equals(y.Shape) ? "mul" : "broadcast_mul", n, dy!, other), y, "d" + y.Name + "." + i);
                        }
                        double s = n.Op == "broadcast_sub" && i == 1 ? -1 : 1;
                        if (x.Shape.Equals(y.Shape)) c.Accumulate(n, x, s == 1 ? g : Scale(c, n, g, s, x));
                        else
                        {
                            var b = c.Node("sum_to", n, g);
                            b.Attrs = new SumToAttrs(s);
                            c.Accumulate(n, x, c.Out(b, x));
                        }
                    }
                    return true;
                case "matmul":
                    if (c.Needs(n.Inputs[0])) c.Accumulate(n, n.Inputs[0], c.Out(c.Node("matmul_bwd_a", n, dy!, n.Inputs[1]), n.Inputs[0]));
                    if (c.Needs(n.Inputs[1])) c.Accumulate(n, n.Inputs[1], c.Out(c.Node("matmul_bwd_b", n, n.Inputs[0], dy!), n.Inputs[1]));
                    return true;
                case "reshape":
                {
                    var x = n.Inputs[0];
                    if (!c.Needs(x)) return true;
                    var dx = c.Out(c.Node("reshape", n, dy!), x);
                    dx.AliasOf = dy;
                    c.Accumulate(n, x, dx);
                    return true;
                }
                case "permute":
                {
                    var x = n.Inputs[0];
                    if (!c.Needs(x)) return true;
                    var perm = n.A<PermuteAttrs>().Perm;
                    var inv = new int[perm.Count];
                    for (int i = 0; i < perm.Count; i++) inv[perm[i]] = i;
                    var b = c.Node("permute", n, dy!);
                    b.Attrs = new PermuteAttrs(inv);
                    c.Accumulate(n, x, c.Out(b, x));
                    return true;
                }
                case "slice": c.Unary(n, dy!, "slice_bwd"); return true;
                case "concat":
                {
                    // one backward node writes every input's gradient (a slice of dy each)
                    var b = c.Node("concat_bwd", n, dy!);
                    foreach (var i in n.Inputs)
                    {
                        var d = c.Out(b, i);
                        if (c.Needs(i)) c.Accumulate(n, i, d);
                    }
                    return true;
                }
                case "sum":
                case "mean": c.Unary(n, dy!, "broadcast_to"); return true;
                case "gram": c.Unary(n, dy!, "gram_bwd", n.Inputs[0]); return true;
            }
            return false;
        }

        private static TValue Scale(BackwardContext c, OpNode n, TValue g, double k, TValue like)
        {
            var b = c.Node("scale", n, g);
            b.Attrs = new ElemAttrs(k);
            return c.Out(b, like);
        }

        // ------------------------------------------------------------------ kernel calls

        private static string Lit(long v) => v.ToString(CultureInfo.InvariantCulture);

        /// <summary>1 / (count of reduced elements) as a T expression; symbols (N) are read from the planned batch size.</summary>
        private static string MeanScale(OpNode n)
        {
            var a = n.A<ReduceAttrs>();
            long f = a.Count;
            var syms = a.CountSymbols;
            if (syms.Length == 0) return CallContext.T(1.0 / f);
            return $"T.One / T.CreateChecked({Lit(f)}L * {string.Join(" * ", syms.Split('*').Select(s => "(long)_sym_" + s))})";
        }

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = k.Node;
            string Op(string op) => op switch { "broadcast_add" => "BinaryOp.Add", "broadcast_sub" => "BinaryOp.Sub", _ => "BinaryOp.Mul" };
            switch (n.Op)
            {
                case "broadcast_add":
                case "broadcast_sub":
                case "broadcast_mul":
                    return $"K.BroadcastBinary({c.In[0]}, {c.In[1]}, {c.Out[0]}, {Op(n.Op)});";
                case "sum_to": return $"K.SumTo({c.In[0]}, {c.Out[0]}, {CallContext.T(n.A<SumToAttrs>().Scale)});";
                case "sum": return $"K.SumTo({c.In[0]}, {c.Out[0]}, T.One);";
                case "mean": return $"K.SumTo({c.In[0]}, {c.Out[0]}, {MeanScale(n)});";
                case "broadcast_to": return $"K.BroadcastTo({c.In[0]}, {c.Out[0]}, {(n.Forward!.Op == "mean" ? MeanScale(n) : "T.One")});";
                case "matmul": return $"K.MatMul({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "matmul_bwd_a": return $"K.MatMulBackwardA({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "matmul_bwd_b": return $"K.MatMulBackwardB({c.In[0]}, {c.In[1]}, {c.Out[0]});";
                case "permute": return $"K.Permute({c.In[0]}, {c.Out[0]}, {n.A<PermuteAttrs>().Display});";
                case "slice": { var a = n.A<SliceAttrs>(); return $"K.Slice({c.In[0]}, {c.Out[0]}, {a.Axis}, {a.Start}, {a.Step});"; }
                case "slice_bwd": { var a = n.A<SliceAttrs>(); return $"K.SliceBackward({c.In[0]}, {c.Out[0]}, {a.Axis}, {a.Start}, {a.Step});"; }
                case "concat": return $"K.Concat([{string.Join(", ", c.In)}], {c.Out[0]}, {n.A<AxisAttrs>().Axis});";
                case "concat_bwd": return $"K.ConcatBackward({c.In[0]}, [{string.Join(", ", c.Out)}], {n.A<AxisAttrs>().Axis});";
                case "gram": return $"K.Gram({c.In[0]}, {c.Out[0]});";
                case "gram_bwd": return $"K.GramBackward({c.In[0]}, {c.In[1]}, {c.Out[0]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            var fwd = n.Forward ?? n;
            switch (n.Op)
            {
                case "matmul":
                case "matmul_bwd_a":
                case "matmul_bwd_b":
                {
                    var a = fwd.Inputs[0].Shape;
                    return 2L * fwd.Outputs[0].Shape.Size.Factor * a[a.Rank - 1].Value;
                }
                case "gram":
                case "gram_bwd":
                {
                    var x = fwd.Inputs[0].Shape;
                    long ch = x[1].Value, hw = (long)x[2].Value * x[3].Value;
                    return (n.Op == "gram" ? 2L : 4L) * ch * ch * hw;
                }
            }
            return null;
        }
    }
}
