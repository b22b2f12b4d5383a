using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Shapes;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Graph
{
    public enum ElemType { Float, Int }

    /// <summary>Buffer: persistent non-learned state (batchnorm running statistics): not a parameter, not planned in the arenas.</summary>
    public enum ValueRole { Input, Parameter, Activation, Gradient, ParameterGradient, Buffer }

    /// <summary>A tensor value in the graph: produced by one node (or an input/parameter), read by others.</summary>
    public sealed class TValue
    {
        public int Id { get; internal set; }
        public string Name { get; internal set; }
        public Shape Shape { get; }
        public ElemType Type { get; }
        public ValueRole Role { get; internal set; }
        public OpNode? Producer { get; internal set; }
        public ParamDecl? Param { get; internal set; }
        public BufferDecl? Buffer { get; internal set; }
        /// <summary>For reshape-like ops: this value shares the storage of another value (no copy, no kernel).</summary>
        public TValue? AliasOf { get; internal set; }
        public TValue(int id, string name, Shape shape, ElemType type, ValueRole role)
        { Id = id; Name = name; Shape = shape; Type = type; Role = role; }
        public TValue Storage => AliasOf?.Storage ?? this;
        public override string ToString() => $"%{Id}:{Name}{Shape}";
    }

    /// <summary>One operation: its op (defined in <see cref="Ops.OpRegistry"/>), operands, results and typed attributes.</summary>
    public sealed class OpNode
    {
        public int Id { get; internal set; }
        public string Op { get; }
        public List<TValue> Inputs { get; } = new List<TValue>();
        public List<TValue> Outputs { get; } = new List<TValue>();
        /// <summary>The op's typed attributes (<see cref="OpAttrs"/>; the op's definition names the record type).</summary>
        public OpAttrs Attrs { get; set; } = NoAttrs.Instance;
        /// <summary>On a backward node with optional gradients: which ones it writes (null: all its outputs).</summary>
        public GradMask? Grads { get; set; }
        /// <summary>The layer instance name (`conv1`, `layer1.0.conv2`), or the op name for parameterless ops.</summary>
        public string Layer { get; }
        public SourceSpan Span { get; }
        public bool IsBackward { get; internal set; }
        /// <summary>For backward nodes: the forward node they differentiate.</summary>
        public OpNode? Forward { get; internal set; }
        public OpNode(string op, string layer, SourceSpan span) { Op = op; Layer = layer; Span = span; }
        /// <summary>The attributes as <typeparamref name="TA"/>; an internal error naming both types if the node has another record.</summary>
        public TA A<TA>() where TA : OpAttrs => Attrs as TA
            ?? throw new System.InvalidOperationException($"op {Op} ({Layer}) has {Attrs.GetType().Name} attributes, not {typeof(TA).Name}");
        public override string ToString() => $"{Op} {Layer} ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
    }

    /// <summary>How a parameter is initialized (stated per layer kind in docs/language.md).</summary>
    public enum InitKind { He, Xavier, Zeros, Ones, PReluSlope, PyTorchDefault, Normal }

    /// <summary>A learned tensor: `conv1.weight`, exposed in C# as `net.Conv1.Weight`.</summary>
    public sealed class ParamDecl
    {
        public string Name { get; }
        public string Layer { get; }
        public string Field { get; }
        public Shape Shape { get; }
        public InitKind Init { get; internal set; }
        public int FanIn { get; }
        public int FanOut { get; }
        public TValue Value { get; internal set; } = null!;
        public TValue? Grad { get; internal set; }
        public ParamDecl(string layer, string field, Shape shape, InitKind init, int fanIn, int fanOut)
        { Layer = layer; Field = field; Name = layer + "." + field; Shape = shape; Init = init; FanIn = fanIn; FanOut = fanOut; }
    }

    /// <summary>
    /// Non-learned persistent state of a layer (a "buffer", PyTorch's term): `bn1.running_mean`, exposed in C# as
    /// `net.Bn1.RunningMean`. Kernels read it and may update it in place (batchnorm in training mode); it lives outside the
    /// planned arenas, on the network's device, and is saved in checkpoints. Starts filled with <see cref="Initial"/>.
    /// </summary>
    public sealed class BufferDecl
    {
        public string Name { get; }
        public string Layer { get; }
        public string Field { get; }
        public Shape Shape { get; }
        public double Initial { get; }
        public TValue Value { get; internal set; } = null!;
        public BufferDecl(string layer, string field, Shape shape, double initial)
        { Layer = layer; Field = field; Name = layer + "." + field; Shape = shape; Initial = initial; }
    }

    /// <summary>A row of the summary: one layer as the user wrote it.</summary>
    public sealed record LayerInfo(string Layer, string Op, Shape Output, long Parameters, long Macs, int Line)
    {
        /// <summary>A recurrent layer over a symbolic sequence length: <see cref="Macs"/> are per step of this dim (T), not per sample.</summary>
        public string? MacsPerStepOf { get; init; }
    }

    /// <summary>The network as a graph: inputs, parameters, forward nodes (topological), then backward nodes.</summary>
    public sealed class NetGraph
    {
        public string Name { get; }
        public SourceSpan Span { get; }
        public List<(string Name, TValue Value)> Inputs { get; } = new List<(string, TValue)>();
        public List<(string Name, TValue Value)> Outputs { get; } = new List<(string, TValue)>();
        public TValue? Loss { get; internal set; }
        /// <summary>Inputs declared `input x grad: [...]`: the backward pass also computes their gradients (<see cref="InputGrads"/>).</summary>
        public List<TValue> GradInputs { get; } = new List<TValue>();
        /// <summary>After differentiation: the gradient value of each grad input (absent if the loss does not depend on it).</summary>
        public Dictionary<TValue, TValue> InputGrads { get; } = new Dictionary<TValue, TValue>();
        /// <summary>`output y grad = ...` in a network without a loss: the backward pass starts from a caller-supplied dY.</summary>
        public TValue? GradOutput { get; internal set; }
        /// <summary>The caller-supplied gradient of <see cref="GradOutput"/> (an input-like value bound by the generated Backward).</summary>
        public TValue? OutputGradSeed { get; internal set; }
        public List<OpNode> Nodes { get; } = new List<OpNode>();
        public List<ParamDecl> Params { get; } = new List<ParamDecl>();
        public List<BufferDecl> Buffers { get; } = new List<BufferDecl>();
        public List<LayerInfo> Layers { get; } = new List<LayerInfo>();
        public List<TValue> Values { get; } = new List<TValue>();
        /// <summary>Symbolic dims in first-seen order (N first for images).</summary>
        public List<string> Symbols { get; } = new List<string>();
        /// <summary>Upper bounds of symbolic dims declared as `T <= 512` in an input's shape (checked when inputs bind).</summary>
        public Dictionary<string, int> SymbolBounds { get; } = new Dictionary<string, int>();

        public NetGraph(string name, SourceSpan span) { Name = name; Span = span; }

        public TValue NewValue(string name, Shape shape, ElemType type = ElemType.Float, ValueRole role = ValueRole.Activation)
        {
            var v = new TValue(Values.Count, name, shape, type, role);
            Values.Add(v);
            return v;
        }

        public OpNode AddNode(OpNode node)
        {
            node.Id = Nodes.Count;
            Nodes.Add(node);
            foreach (var o in node.Outputs) o.Producer = node;
            return node;
        }

        public IEnumerable<OpNode> ForwardNodes => Nodes.Where(n => !n.IsBackward);
        public IEnumerable<OpNode> BackwardNodes => Nodes.Where(n => n.IsBackward);
        public long ParameterCount => Params.Sum(p => p.Shape.KnownElements);
    }
}
