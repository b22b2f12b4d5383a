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
    /// Regularization (docs/ops/losses.md): dropout2d (whole (n, c) planes) and stochastic_depth (whole samples), both
    /// inverted (kept values scaled by 1/(1−p)) and the identity at eval, with a full-size mask whose backward is the
    /// element-wise dropout_bwd (dy·mask, fused); and the weight penalties l2_penalty, l1_penalty, elastic_net, scalar
    /// [1] terms of the loss over the `weight` of every conv/linear layer declared before them (not biases, not norm
    /// parameters).
    /// </summary>
    internal sealed class Regularization : OpFamily
    {
        private static LayerDef DropoutLike(string layer, System.Func<Shape, ShapeResult> rule) =>
            new LayerDef(layer, new[] { T("x"), F("p", 0.5) }, c =>
            {
                var x = c.X("x"); double p = c.Float("p", 0.5);
                var pr = ShapeRules.DropProbability(layer, p);
                if (pr.IsError) { c.Error(pr.ErrorId!, c.ArgSpan("p"), pr.Error!); return c.Error(); }
                var r = rule(x.Shape);
                if (c.Fail(r)) return c.Error();
                var name = c.Name();
                if (r.Shape.IsUnknown) return c.Error();
                var node = c.Node(layer, name);
                node.Attrs = new DropoutAttrs(p);
                node.Inputs.Add(x);
                var y = c.Emit(node, r.Shape);
                node.Outputs.Add(c.Output(node, name + ".mask", r.Shape));
                return y;
            });

        /// <summary>Ops whose `weight` parameter the penalties cover: convolutions and linear layers.</summary>
        internal static bool Penalized(OpNode n) => OpRegistry.Is(n, OpTraits.Penalized);

        private static LayerDef Penalty(string layer, ArgSpec[] args, System.Func<LayerCall, (double L1, double L2)> coefficients) =>
            new LayerDef(layer, args, c =>
            {
                var (l1, l2) = coefficients(c);
                if (!(l1 >= 0) || !(l2 >= 0))
                {
                    c.Error(DiagnosticIds.InvalidGeometry, $"{layer} coefficients must be >= 0, got l1 {l1.ToString(CultureInfo.InvariantCulture)}, l2 {l2.ToString(CultureInfo.InvariantCulture)}");
                    return c.Error();
                }
                var weights = c.ParamsSoFar.Where(p => p.Field == "weight" && c.Graph.Nodes.Any(n => !n.IsBackward && Penalized(n) && n.Inputs.Contains(p.Value)))
                    .Select(p => p.Value).ToList();
                if (weights.Count == 0)
                {
                    c.Error(DiagnosticIds.InvalidLoss, $"{layer} penalizes the weights of the conv and linear layers declared before it, and there are none yet");
                    return c.Error();
                }
                var node = c.Node("penalty", c.Name());
                node.Attrs = new PenaltyAttrs(l1, l2);
                node.Inputs.AddRange(weights);
                return c.Emit(node, Shape.Of(1));
            });

        public override IEnumerable<LayerDef> Layers => new[]
        {
            DropoutLike("dropout2d", ShapeRules.Dropout2d),
            DropoutLike("stochastic_depth", ShapeRules.StochasticDepth),
            Penalty("l2_penalty", new[] { FReq("weight") }, c => (0, c.Float("weight"))),
            Penalty("l1_penalty", new[] { FReq("weight") }, c => (c.Float("weight"), 0)),
            Penalty("elastic_net", new[] { FReq("l1"), FReq("l2") }, c => (c.Float("l1"), c.Float("l2"))),
        };

        public override IEnumerable<OpDef> Ops => new[]
        {
            OpDef.Of<DropoutAttrs>("dropout2d", "x"),
            OpDef.Of<DropoutAttrs>("stochastic_depth", "x"),
            OpDef.Of<PenaltyAttrs>("penalty", "weights*"),
            OpDef.Grad<PenaltyAttrs>("penalty_bwd", "dy, weight"),
        };

        public override bool Backward(BackwardContext c, OpNode n, TValue? dy)
        {
            switch (n.Op)
            {
                case "dropout2d":
                case "stochastic_depth":
                    c.Unary(n, dy!, "dropout_bwd", n.Outputs[1]);
                    return true;
                case "penalty":
                    foreach (var w in n.Inputs)
                        if (c.Needs(w)) c.Accumulate(n, w, c.Out(c.Node("penalty_bwd", n, dy!, w), w));
                    return true;
            }
            return false;
        }

        public override string? Call(CallContext c, LibraryKernel k)
        {
            var n = c.Node;
            switch (n.Op)
            {
                case "dropout2d":
                case "stochastic_depth":
                {
                    var kernel = n.Op == "dropout2d" ? "Dropout2dForward" : "StochasticDepthForward";
                    return $"if (training) K.{kernel}({c.In[0]}, {c.Out[1]}, {c.Out[0]}, {CallContext.T(n.A<DropoutAttrs>().P)}, {(n.Op == "dropout2d" ? Emit.DistributedEmit.ShardSeed(n, 1, 2) : Emit.DistributedEmit.ShardSeed(n, 1, 1))}); else {{ K.Copy({c.In[0]}, {c.Out[0]}); K.Fill({c.Out[1]}, T.One); }}";
                }
                case "penalty": return $"K.PenaltyForward([{string.Join(", ", c.In)}], {CallContext.T(n.A<PenaltyAttrs>().L1)}, {CallContext.T(n.A<PenaltyAttrs>().L2)}, {c.Out[0]});";
                case "penalty_bwd": return $"K.PenaltyBackward({c.In[0]}, {c.In[1]}, {CallContext.T(n.A<PenaltyAttrs>().L1)}, {CallContext.T(n.A<PenaltyAttrs>().L2)}, {c.Out[0]});";
            }
            return null;
        }

        public override long? Flops(LibraryKernel k)
        {
            var n = k.Node;
            switch (n.Op)
            {
                case "dropout2d": case "stochastic_depth": return n.Inputs[0].Shape.Size.Factor;
                case "penalty": return 0; // per batch, not per sample: 3 per weight
                case "penalty_bwd": return 0;
            }
            return null;
        }
    }
}
