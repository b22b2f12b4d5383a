using System.Collections.Generic;
using static NetDsl.Compiler.Ops.P;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// The element-wise ops of the first slice as expressions: relu, sigmoid, tanh, add and their gradients (whose backward
    /// rules, like the layers, are still written inline in Elaborator/Differentiator). Other families define theirs beside their layers.
    /// </summary>
    internal sealed class Pointwise : OpFamily
    {
        private static readonly ElemDef Relu = new ElemDef("relu", Max(X, 0), epilogue: true);
        private static readonly ElemDef Sigmoid = new ElemDef("sigmoid", P.Sigmoid(X), epilogue: true);
        private static readonly ElemDef Tanh = new ElemDef("tanh", P.Tanh(X), epilogue: true);

        public override IEnumerable<ElemDef> Elementwise => new[]
        {
            Relu, Sigmoid, Tanh,
            new ElemDef("add", A(0) + A(1)),
            // dropout's gradient: dy·mask, the mask holding 0 or 1/(1 − p)
            new ElemDef("dropout_bwd", A(0) * A(1)),
            // from y: dy where y > 0 (PyTorch: relu′(0) = 0)
            ElemDef.Gradient("relu_bwd", Relu, Select(Gt(A(1), 0), A(0), 0), readsOutput: true),
            ElemDef.Gradient("sigmoid_bwd", Sigmoid, A(0) * A(1) * (1 - A(1)), readsOutput: true),
            ElemDef.Gradient("tanh_bwd", Tanh, A(0) * (1 - A(1) * A(1)), readsOutput: true),
        };
    }
}
