using System.Collections.Generic;
using System.Globalization;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using static NetDsl.Compiler.Ops.P;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// The ops of the first slice: linear, relu, sigmoid, tanh, flatten, dropout, add, and the backward seed `ones`.
    /// Their layers are elaborated in Semantics/Elaborator.Layers.cs; the element-wise ones are expressions (Px.cs) below.
    /// Every rule is on its op's definition.
    /// </summary>
    internal sealed class Core : OpFamily
    {
        private static readonly ElemDef ReluExpr = new ElemDef("relu", Max(X, 0), epilogue: true);
        private static readonly ElemDef SigmoidExpr = new ElemDef("sigmoid", P.Sigmoid(X), epilogue: true);
        private static readonly ElemDef TanhExpr = new ElemDef("tanh", P.Tanh(X), epilogue: true);

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            ReluExpr, SigmoidExpr, TanhExpr,
            new ElemDef("add", A(0) + A(1)),
            // dropout's gradient: dy·mask, the mask holding 0 or 1/(1 − p)
            new ElemDef("dropout_bwd", A(0) * A(1)),
            // from y: dy where y > 0 (PyTorch: relu′(0) = 0)
            ElemDef.Gradient("relu_bwd", ReluExpr, Select(Gt(A(1), 0), A(0), 0), readsOutput: true),
            ElemDef.Gradient("sigmoid_bwd", SigmoidExpr, A(0) * A(1) * (1 - A(1)), readsOutput: true),
            ElemDef.Gradient("tanh_bwd", TanhExpr, A(0) * (1 - A(1) * A(1)), readsOutput: true),
        };

        private const OpTraits Activation = OpTraits.Elementwise | OpTraits.Epilogue;

        public override IEnumerable<OpDef> Ops => new[]
        {
            // y = x·Wᵀ + b over the last dim; dx = dy·W, dW = dyᵀ·x, db = Σdy
            new OpDef("linear", typeof(NoAttrs), "x, weight, bias?", OpTraits.TakesEpilogue | OpTraits.FoldsBatchNorm | OpTraits.ChoosesInit | OpTraits.Penalized | OpTraits.PacksWeight)
            {
                Backward = (c, n, dy) =>
                {
                    var x = n.Inputs[0]; var w = n.Inputs[1];
                    var bias = n.Inputs.Count > 2 ? n.Inputs[2] : null;
                    if (c.Needs(x)) c.Accumulate(n, x, c.Out(c.Node("linear_bwd_data", n, dy!, w), x));
                    var bf = c.Node("linear_bwd_filter", n, dy!, x);
                    c.Accumulate(n, w, c.Out(bf, w));
                    if (bias != null) c.Accumulate(n, bias, c.Out(bf, bias));
                },
                Call = (c, k) => $"K.LinearForward({c.Operand("x")}, {c.Operand("weight")}, {c.Operand("bias")}, {c.Out[0]}, {c.Epilogue}{c.Pack});",
                Flops = LinearFlops,
                Shape = n => ShapeRules.Linear(n.Inputs[0].Shape, n.Inputs[1].Shape[0].Value),
            },
            new OpDef("linear_bwd_data", typeof(NoAttrs), "dy, weight", OpTraits.Gradient)
            { Call = (c, k) => $"K.LinearBackwardData({c.In[0]}, {c.In[1]}, {c.Out[0]});", Flops = LinearFlops },
            new OpDef("linear_bwd_filter", typeof(NoAttrs), "dy, x", OpTraits.Gradient)
            {
                Call = (c, k) => $"K.LinearBackwardFilter({c.In[0]}, {c.In[1]}, {c.Out[0]}, {c.OutOrNull(1)});",
                AccumulatingCall = (c, k) => $"K.LinearBackwardFilterAccumulate({c.In[0]}, {c.In[1]}, {c.Out[0]}, {c.OutOrNull(1)});",
                Flops = LinearFlops,
            },

            // relu commutes with a max pooling (Graph/PoolBeforeRelu.cs) and asks for He initialization of the weights before it
            new OpDef("relu", typeof(NoAttrs), "x", Activation | OpTraits.CommutesWithMaxPool | OpTraits.HeInit) { Backward = ReadsY("relu_bwd"), Shape = OpDef.SameShape },
            new OpDef("sigmoid", typeof(NoAttrs), "x", Activation) { Backward = ReadsY("sigmoid_bwd"), Shape = OpDef.SameShape },
            new OpDef("tanh", typeof(NoAttrs), "x", Activation) { Backward = ReadsY("tanh_bwd"), Shape = OpDef.SameShape },
            OpDef.Grad("relu_bwd", "dy, y", OpTraits.Elementwise),
            OpDef.Grad("sigmoid_bwd", "dy, y", OpTraits.Elementwise),
            OpDef.Grad("tanh_bwd", "dy, y", OpTraits.Elementwise),

            // flatten is a view; its gradient is a view of dy
            new OpDef("flatten", typeof(NoAttrs), "x", OpTraits.View)
            {
                Backward = (c, n, dy) =>
                {
                    var x = n.Inputs[0];
                    if (!c.Needs(x)) return;
                    var dx = c.Out(c.Node("reshape", n, dy!), x);
                    dx.AliasOf = dy;
                    c.Accumulate(n, x, dx);
                },
            },

            // dropout writes its mask (output 1, scaled by 1/(1-p)); dx = dy·mask. In eval it copies and the mask is ones.
            new OpDef("dropout", typeof(DropoutAttrs), "x", OpTraits.None)
            {
                Backward = (c, n, dy) => c.Unary(n, dy!, "dropout_bwd", n.Outputs[1]),
                Call = (c, k) =>
                    $"if (training) K.DropoutForward({c.In[0]}, {c.Out[1]}, {c.Out[0]}, T.CreateChecked({c.Node.A<DropoutAttrs>().P.ToString("R", CultureInfo.InvariantCulture)}), {Emit.DistributedEmit.ShardSeed(c.Node, 1)}); else {{ K.Copy({c.In[0]}, {c.Out[0]}); K.Fill({c.Out[1]}, T.One); }}",
            },
            OpDef.Grad("dropout_bwd", "dy, mask", OpTraits.Elementwise),

            // add sums tensors of one shape, and in the backward pass sums the gradients of a value that fans out
            new OpDef("add", typeof(NoAttrs), "a, b", OpTraits.Elementwise)
            {
                InBothPasses = true,
                Shape = OpDef.SameShape,
                Backward = (c, n, dy) => { foreach (var i in n.Inputs) if (c.Needs(i)) c.Accumulate(n, i, dy!); },
            },

            // the seed of the backward pass: dloss/dloss = 1
            new OpDef("ones", typeof(NoAttrs), "", OpTraits.Gradient)
            { Call = (c, k) => $"K.Fill({c.Out[0]}, T.One); // the seed of the backward pass: dloss/dloss = 1" },
        };

        /// <summary>dx = op(dy, y) for an activation whose derivative is a function of its output.</summary>
        private static System.Action<Autodiff.BackwardContext, OpNode, TValue?> ReadsY(string bwd) => (c, n, dy) => c.Unary(n, dy!, bwd, n.Outputs[0]);

        /// <summary>2 FLOPs per MAC: every output element of the forward op meets a row of W (the same for both gradients).</summary>
        private static long LinearFlops(Fusion.LibraryKernel k)
        {
            var fwd = k.Node.Forward ?? k.Node;
            return 2L * fwd.Outputs[0].Shape.Size.Factor * fwd.Inputs[1].Shape[1].Value;
        }
    }
}
