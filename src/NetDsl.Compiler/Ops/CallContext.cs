using System.Collections.Generic;
using System.Globalization;
using NetDsl.Compiler.Emit;
using NetDsl.Compiler.Fusion;
using NetDsl.Compiler.Graph;

namespace NetDsl.Compiler.Ops
{
    /// <summary>
    /// What a family's kernel-call writer (<see cref="OpFamily.Call"/>) gets: the C# expressions of the kernel's inputs and
    /// outputs (tensors in the generated class, in the node's order), and the epilogue functor pair ("new ReluOp(), new
    /// ReluOpGpu()" or the identity). Generated code calls kernels as <c>K.Name(...)</c>; <c>training</c> is in scope
    /// in forward code (true in TrainStep, the network's mode in Forward).
    /// </summary>
    internal sealed class CallContext
    {
        private readonly NetworkEmitter _e;
        public LibraryKernel Kernel { get; }
        public OpNode Node => Kernel.Node;
        public IReadOnlyList<string> In { get; }
        public IReadOnlyList<string> Out { get; }
        /// <summary>The epilogue functor pair: <c>new XOp(), new XOpGpu()</c> or <c>default(Identity&lt;T&gt;), default(Identity&lt;T&gt;)</c>.</summary>
        public string Epilogue { get; }
        /// <summary>The inputs of a fused prologue (<see cref="LibraryKernel.Prologue"/>; its functor pair is <see cref="Epilogue"/>), else empty.</summary>
        public IReadOnlyList<string> PrologueIn { get; }
        /// <summary>
        /// Eval program only: <c>, _packN, packKey</c> when the op's weight operand is a parameter or a folded weight, so its
        /// kernel may keep the weight packed between calls (<c>PackedWeights</c>); else empty.
        /// </summary>
        public string Pack { get; init; } = "";
        internal CallContext(NetworkEmitter e, LibraryKernel k, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string epilogue, IReadOnlyList<string>? prologueIn = null)
        { _e = e; Kernel = k; In = inputs; Out = outputs; Epilogue = epilogue; PrologueIn = prologueIn ?? new string[0]; }
        /// <summary>
        /// The C# expression of the node's operand <paramref name="name"/> as its op's definition names it (<c>"bias"</c> of
        /// <c>"x, weight, bias?"</c>), or <c>null</c> when an optional operand is absent.
        /// </summary>
        public string Operand(string name) => InOrNull(OpRegistry.Def(Node.Op).IndexOf(name));
        /// <summary>Input <paramref name="i"/> or <c>null</c> when absent (an optional bias).</summary>
        public string InOrNull(int i) => i < In.Count ? In[i] : "null";
        public string OutOrNull(int i) => i < Out.Count ? Out[i] : "null";
        /// <summary>The C# expression of any value (a parameter, a buffer).</summary>
        public string Ref(TValue v) => _e.Ref(v);
        /// <summary>A T literal: <c>T.CreateChecked(0.1)</c>.</summary>
        public static string T(double v) => $"T.CreateChecked({v.ToString("R", CultureInfo.InvariantCulture)})";
        public static string Bool(bool b) => b ? "true" : "false";
        /// <summary>The seed expression for a random op at this node (dropout-like ops); varies with the training step.</summary>
        public string Seed => $"DropoutSeed({Node.Id})";
    }
}
