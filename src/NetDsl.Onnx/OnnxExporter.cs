using System.Globalization;
using Google.Protobuf;
using NetDsl.Compiler;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Shapes;
using NetDsl.Onnx.Proto;

namespace NetDsl.Onnx;

/// <summary>A network that cannot be exported (an op ONNX lacks, a bad .net file, missing weights): the message names the network, op, layer and .net line.</summary>
public sealed class OnnxExportException : Exception
{
    public OnnxExportException(string message) : base(message) { }
}

/// <summary>
/// Writes the eval-mode forward pass of a NetDsl network as an ONNX model (opset 17, IR version 8): the compiler's forward
/// graph IR (<see cref="NetCompiler.ForwardGraphs"/>) mapped op by op to ONNX nodes, weights as initializers under their
/// PyTorch <c>state_dict</c> names, every symbolic dim (N, T…) a symbolic ONNX dim, inputs and outputs named as in the .net
/// file. Only what the outputs need is exported (a label input that feeds only the loss is not an input of the model).
/// docs/onnx.md has the op table.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The opset the exporter writes (ONNX 1.12, which Debian's python3-onnx ships, checks opsets up to 17).</summary>
    public const int Opset = 17;
    /// <summary>The IR version of opset 17.</summary>
    public const int IrVersion = 8;

    /// <summary>
    /// Ops of the forward graph that have no ONNX mapping, with the reason (docs/onnx.md lists them). Losses are not here: a
    /// loss is not part of the exported forward pass (unless an output depends on one, which is reported as unexportable).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Unsupported = new Dictionary<string, string>
    {
        ["lstm(state: true)"] = "the final cell state c_n of lstm(..., state: true) is read from the layer's saved gates, which have no ONNX counterpart (h_n and the outputs export)",
        ["max_unpool2d"] = "ONNX MaxUnpool needs MaxPool's indices, which ONNX flattens over the whole tensor (N and C included) while NetDsl's argmax is per plane; the conversion is not written yet",
        ["sample_normal"] = "eval: \"sample\" draws noise in eval mode; ONNX's RandomNormalLike cannot reproduce NetDsl's generator (use sample_normal(..., eval: \"mean\") for a deterministic export)",
        ["actnorm"] = "normalizing-flow op (GLOW): no ONNX op, not decomposed",
        ["invconv_weight"] = "normalizing-flow op (GLOW): the LU-parameterized weight has no ONNX op, not decomposed",
        ["coupling"] = "normalizing-flow op (GLOW): no ONNX op, not decomposed",
        ["coupling_logdet"] = "normalizing-flow log-determinant: no ONNX op",
        ["flow_logdet"] = "normalizing-flow log-determinant: no ONNX op",
        ["gaussian_log_prob"] = "a log-likelihood term (part of a loss)",
        ["positional_encoding(unbounded)"] = "positional_encoding over a symbolic length without a declared bound (`T <= 512`): the sinusoidal table is a constant of the bound's rows",
        ["lrn(even size)"] = "ONNX LRN pads an even window (size-1)/2 before and size/2 after the channel, PyTorch size/2 before: the results differ",
        ["adaptive_avgpool2d(symbolic)"] = "adaptive average pooling over a symbolic height or width: its windows depend on the size, and ONNX has no adaptive pooling op",
        ["normal_noise"] = "random noise in the forward pass",
        ["uniform_noise"] = "random noise in the forward pass",
    };

    /// <summary>Reads a .net file's text and exports network <paramref name="network"/> (the only network of the file when null).</summary>
    public static ModelProto BuildModel(string netPath, string netText, string? network, Func<string, (int[] Shape, float[] Data)> weights)
    {
        var g = ForwardGraph(netPath, netText, network);
        return new Builder(g, weights).Build();
    }

    /// <summary>The forward graph of one network of a .net file; throws <see cref="OnnxExportException"/> naming the file and its errors.</summary>
    public static NetGraph ForwardGraph(string netPath, string netText, string? network)
    {
        var (diags, graphs) = NetCompiler.ForwardGraphs(netPath, netText);
        var errors = diags.Where(d => d.Severity == Severity.Error).ToList();
        NetGraph? g;
        if (network == null)
        {
            if (graphs.Count != 1 || errors.Count > 0 && graphs.Count == 0)
            {
                if (errors.Count > 0 && graphs.Count == 0) throw new OnnxExportException($"{netPath}: {Describe(errors)}");
                throw new OnnxExportException($"{netPath} declares {graphs.Count} networks ({string.Join(", ", graphs.Select(x => x.Name))}); name the one to export (--network NAME)");
            }
            g = graphs[0];
        }
        else
        {
            g = graphs.FirstOrDefault(x => x.Name == network);
            if (g == null)
            {
                var err = errors.Count > 0 ? $"; the file has errors: {Describe(errors)}" : "";
                throw new OnnxExportException($"{netPath}: no network '{network}' compiles here (networks: {string.Join(", ", graphs.Select(x => x.Name))}){err}");
            }
        }
        return g;
    }

    private static string Describe(IReadOnlyList<Diagnostic> errors) =>
        string.Join("; ", errors.Take(3).Select(d => $"({d.Span.Line},{d.Span.Column}) {d.Id}: {d.Message}")) + (errors.Count > 3 ? $" (and {errors.Count - 3} more)" : "");

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (protobuf binary, the .onnx format).</summary>
    public static void Save(ModelProto model, string path)
    {
        using var f = File.Create(path);
        model.WriteTo(f);
    }

    /// <summary>The unexportable ops of a forward graph (as "op at line L (layer): reason"), empty when it exports.</summary>
    public static IReadOnlyList<string> Check(NetGraph g)
    {
        var b = new Builder(g, _ => throw new InvalidOperationException());
        return b.Problems();
    }

    // ------------------------------------------------------------------------------------------------------------------

    private sealed class Builder
    {
        private readonly NetGraph _g;
        private readonly Func<string, (int[] Shape, float[] Data)> _weights;
        private readonly GraphProto _graph = new();
        private readonly Dictionary<TValue, string> _names = new();
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);
        private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (TValue Input, int Axis)> _symbolSource = new(StringComparer.Ordinal);
        private int _tmp;

        public Builder(NetGraph g, Func<string, (int[] Shape, float[] Data)> weights)
        {
            _g = g; _weights = weights;
        }

        /// <summary>The forward nodes the outputs depend on, in order.</summary>
        private List<OpNode> Needed()
        {
            var need = new HashSet<TValue>(_g.Outputs.Select(o => o.Value));
            var nodes = new List<OpNode>();
            foreach (var n in _g.ForwardNodes.Reverse())
            {
                if (!n.Outputs.Any(need.Contains)) continue;
                nodes.Add(n);
                foreach (var i in n.Inputs) need.Add(i);
            }
            nodes.Reverse();
            return nodes;
        }

        public IReadOnlyList<string> Problems()
        {
            var list = new List<string>();
            var nodes = Needed();
            var read = new HashSet<TValue>(nodes.SelectMany(n => n.Inputs).Concat(_g.Outputs.Select(o => o.Value)));
            foreach (var n in nodes)
            {
                if (Reason(n) is { } r) list.Add($"{n.Op} at line {n.Span.Line} ({n.Layer}): {r}");
                // recurrent layers export their output sequence; their saved gates (second output) have no ONNX counterpart
                else if ((n.Op == "lstm" || n.Op == "gru" || n.Op == "rnn") && n.Outputs.Skip(1).Any(read.Contains))
                    list.Add($"{n.Op} at line {n.Span.Line} ({n.Layer}): {Unsupported["lstm(state: true)"]}");
            }
            return list;
        }

        private static readonly HashSet<string> Losses = new(StringComparer.Ordinal)
        {
            "cross_entropy", "nll_loss", "mse", "l1_loss", "smooth_l1", "hinge", "focal", "pointwise_loss", "penalty",
            "triplet_margin", "nt_xent", "distill",
        };

        private string? Reason(OpNode n)
        {
            if (n.Op != "sample_normal" && Unsupported.TryGetValue(n.Op, out var r)) return r;
            if (Losses.Contains(n.Op)) return "a loss is not part of an exported forward pass; export the network's outputs before the loss";
            switch (n.Op)
            {
                case "sample_normal" when n.A<GenAttrs>().EvalSample: return Unsupported["sample_normal"];
                case "lrn" when n.A<LrnAttrs>().Size % 2 == 0: return Unsupported["lrn(even size)"];
                case "adaptive_avgpool2d":
                {
                    var x = n.Inputs[0].Shape;
                    if (!x[2].IsKnown || !x[3].IsKnown) return Unsupported["adaptive_avgpool2d(symbolic)"];
                    return null;
                }
                case "positional_encoding":
                {
                    var t = n.Inputs[0].Shape[1];
                    return t.IsKnown || t.Symbol != null && n.Inputs[0].Shape[2].IsKnown && _g.SymbolBounds.ContainsKey(t.Symbol) ? null : Unsupported["positional_encoding(unbounded)"];
                }
            }
            return Mapped.Contains(n.Op) ? null : "no ONNX mapping for this op yet";
        }

        private static readonly HashSet<string> Mapped = new(StringComparer.Ordinal)
        {
            "conv2d", "conv_transpose2d", "linear", "batchnorm", "relu", "sigmoid", "tanh", "relu6", "leaky_relu", "elu", "selu",
            "gelu", "gelu_tanh", "silu", "softplus", "hard_sigmoid", "hardswish", "prelu", "softmax", "log_softmax", "maxpool2d", "avgpool2d",
            "globalavgpool", "adaptive_avgpool2d", "flatten", "reshape", "permute", "add", "sub", "mul", "broadcast_add",
            "broadcast_sub", "broadcast_mul", "scale", "affine", "concat", "slice", "mean", "sum", "matmul", "dropout", "dropout2d",
            "stochastic_depth", "layernorm", "instancenorm", "groupnorm", "lrn", "embedding", "attention", "split_heads",
            "class_token", "sample_normal", "upsample_nearest2d", "upsample_bilinear2d", "lstm", "gru", "rnn", "positional_encoding", "maxout", "gram",
        };

        public ModelProto Build()
        {
            var nodes = Needed();
            var problems = Problems();
            if (problems.Count > 0)
                throw new OnnxExportException($"network {_g.Name} cannot be exported to ONNX: {string.Join("; ", problems)}");

            _graph.Name = _g.Name;
            _graph.DocString = $"NetDsl network {_g.Name}: the eval-mode forward pass";
            var needed = new HashSet<TValue>(nodes.SelectMany(n => n.Inputs));
            foreach (var (name, v) in _g.Outputs) needed.Add(v);
            foreach (var (name, v) in _g.Inputs)
            {
                if (!needed.Contains(v)) continue;
                Claim(name);
                _names[v] = name;
                _graph.Input.Add(ValueInfo(name, v));
                for (int a = 0; a < v.Shape.Rank; a++)
                    if (!v.Shape[a].IsKnown && !_symbolSource.ContainsKey(v.Shape[a].Symbol!)) _symbolSource[v.Shape[a].Symbol!] = (v, a);
            }
            foreach (var n in nodes) Emit(n);
            foreach (var (name, v) in _g.Outputs)
            {
                if (_g.Inputs.Any(i => i.Name == name)) throw new OnnxExportException($"network {_g.Name}: output '{name}' has the name of an input");
                var src = Name(v);
                Claim(name);
                Node("Identity", new[] { src }, new[] { name }, "output." + name);
                _graph.Output.Add(ValueInfo(name, v));
            }
            var model = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "NetDsl",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
                DocString = $"{_g.Name}: eval-mode forward pass exported by NetDsl (opset {Opset})",
                Graph = _graph,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            return model;
        }

        // ---------------------------------------------------------------- names, values, constants

        private void Claim(string name)
        {
            if (!_used.Add(name)) throw new OnnxExportException($"network {_g.Name}: the ONNX name '{name}' is used twice");
        }

        private string Fresh(string hint)
        {
            var s = hint;
            for (int i = 2; _used.Contains(s); i++) s = hint + "_" + i.ToString(CultureInfo.InvariantCulture);
            _used.Add(s);
            return s;
        }

        /// <summary>The ONNX name of a graph value: inputs by their .net name, parameters and buffers by their state_dict name (as initializers).</summary>
        private string Name(TValue v)
        {
            if (_names.TryGetValue(v, out var s)) return s;
            if (v.Param != null && v.Param.Value == v) return _names[v] = Initializer(v.Param.Name, v.Param.Shape);
            if (v.Buffer != null && v.Buffer.Value == v) return _names[v] = Initializer(v.Buffer.Name, v.Buffer.Shape);
            if (v.Role == ValueRole.Input) throw new OnnxExportException($"network {_g.Name}: value {v.Name} is not an input of the export");
            throw new OnnxExportException($"network {_g.Name}: value {v.Name} is read before it is computed (internal exporter error)");
        }

        private string Initializer(string name, Shape shape)
        {
            var (dims, data) = _weights(name);
            var expect = shape.Dims.Select(d => d.Value).ToArray();
            if (!shape.AllKnown || !dims.SequenceEqual(expect))
                throw new OnnxExportException($"network {_g.Name}: weight '{name}' has shape {Fmt(dims)}, the network declares {shape.ToDisplay()}");
            if (data.Length != dims.Aggregate(1L, (a, b) => a * b))
                throw new OnnxExportException($"network {_g.Name}: weight '{name}' has {data.Length} values for shape {Fmt(dims)}");
            Claim(name);
            _initializers.Add(name);
            _graph.Initializer.Add(FloatTensor(name, dims.Select(d => (long)d).ToArray(), data));
            return name;
        }

        private static string Fmt(int[] dims) => "[" + string.Join(", ", dims) + "]";

        private static TensorProto FloatTensor(string name, long[] dims, float[] data)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(dims);
            var bytes = new byte[data.Length * 4];
            for (int i = 0; i < data.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), data[i]);   // little-endian (ONNX raw_data)
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
            t.RawData = ByteString.CopyFrom(bytes);
            return t;
        }

        private string ConstF(string hint, float[] values, long[] dims)
        {
            var name = Fresh(hint);
            _graph.Initializer.Add(FloatTensor(name, dims, values));
            return name;
        }

        private string ScalarF(float v) => ConstF("const_" + v.ToString("R", CultureInfo.InvariantCulture), new[] { v }, Array.Empty<long>());

        private string ConstI(string hint, params long[] values)
        {
            var name = Fresh(hint);
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.AddRange(values);
            _graph.Initializer.Add(t);
            return name;
        }

        /// <summary>A scalar int64 constant (Range's start, limit and delta are scalars).</summary>
        private string ConstI0(string hint, long value)
        {
            var name = Fresh(hint);
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Int64Data.Add(value);
            _graph.Initializer.Add(t);
            return name;
        }

        private ValueInfoProto ValueInfo(string name, TValue v)
        {
            var shape = new TensorShapeProto();
            foreach (var d in v.Shape.Dims)
                shape.Dim.Add(d.IsKnown ? new TensorShapeProto.Types.Dimension { DimValue = d.Value } : new TensorShapeProto.Types.Dimension { DimParam = d.Symbol });
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = v.Type == ElemType.Int ? (int)TensorProto.Types.DataType.Int32 : (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }

        private NodeProto Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string name, params AttributeProto[] attrs)
        {
            var n = new NodeProto { OpType = op, Name = Fresh("node:" + name) };
            n.Input.AddRange(inputs);
            n.Output.AddRange(outputs);
            n.Attribute.AddRange(attrs);
            _graph.Node.Add(n);
            return n;
        }

        /// <summary>A node with one fresh output; returns the output's name.</summary>
        private string Op(string op, string layer, string[] inputs, params AttributeProto[] attrs)
        {
            var y = Fresh($"{layer}/{op}_{_tmp++}");
            Node(op, inputs, new[] { y }, layer + "/" + op, attrs);
            return y;
        }

        private static AttributeProto A(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
        private static AttributeProto A(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
        private static AttributeProto A(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
        private static AttributeProto A(string name, string[] v)
        {
            var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
            a.Strings.AddRange(v.Select(ByteString.CopyFromUtf8));
            return a;
        }

        private static AttributeProto A(string name, params long[] v)
        {
            var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
            a.Ints.AddRange(v);
            return a;
        }

        /// <summary>Binds the result of a node to its graph value.</summary>
        private void Bind(TValue v, string name) => _names[v] = name;

        /// <summary>
        /// A 1-D int64 shape tensor for <paramref name="shape"/>: known dims as constants, each symbolic dim read at run time
        /// from an input that carries it (Shape + Gather), so every symbolic dim stays symbolic in the model.
        /// </summary>
        private string ShapeTensor(Shape shape, string layer)
        {
            if (shape.AllKnown) return ConstI(layer + "/shape", shape.Dims.Select(d => (long)d.Value).ToArray());
            var parts = new List<string>();
            var known = new List<long>();
            void Flush()
            {
                if (known.Count > 0) parts.Add(ConstI(layer + "/dims", known.ToArray()));
                known.Clear();
            }
            foreach (var d in shape.Dims)
            {
                if (d.IsKnown) { known.Add(d.Value); continue; }
                Flush();
                parts.Add(SymbolDim(d.Symbol!, layer));
            }
            Flush();
            return parts.Count == 1 ? parts[0] : Op("Concat", layer, parts.ToArray(), A("axis", 0L));
        }

        private readonly Dictionary<string, string> _symbolDims = new(StringComparer.Ordinal);

        private string SymbolDim(string symbol, string layer)
        {
            if (_symbolDims.TryGetValue(symbol, out var s)) return s;
            if (!_symbolSource.TryGetValue(symbol, out var src))
                throw new OnnxExportException($"network {_g.Name}: symbolic dim {symbol} of layer {layer} is not a dim of any exported input");
            var shape = Op("Shape", "shape_of_" + symbol, new[] { Name(src.Input) }, A("start", (long)src.Axis), A("end", (long)src.Axis + 1));
            return _symbolDims[symbol] = shape;
        }

        private string Reshape(string x, Shape to, string layer) => Op("Reshape", layer, new[] { x, ShapeTensor(to, layer) });

        // ---------------------------------------------------------------- ops

        private void Emit(OpNode n)
        {
            string L = n.Layer;
            string In(int i) => Name(n.Inputs[i]);
            TValue? P(string field) => n.Inputs.FirstOrDefault(v => (v.Param?.Field ?? v.Buffer?.Field) == field && (v.Param?.Layer ?? v.Buffer?.Layer) == n.Layer);
            var y = n.Outputs[0];
            void Out(string name) => Bind(y, name);
            static float F(double v) => (float)v;
            switch (n.Op)
            {
                case "conv2d":
                {
                    var g = n.A<ConvAttrs>();
                    Out(Op("Conv", L, n.Inputs.Select(Name).ToArray(),
                        A("kernel_shape", g.Kh, g.Kw), A("strides", g.Sh, g.Sw),
                        A("pads", g.Pt, g.Pl, g.Pb, g.Pr), A("dilations", g.Dh, g.Dw), A("group", (long)g.Groups)));
                    return;
                }
                case "conv_transpose2d":
                {
                    var g = n.A<ConvAttrs>();
                    Out(Op("ConvTranspose", L, n.Inputs.Select(Name).ToArray(),
                        A("kernel_shape", g.Kh, g.Kw), A("strides", g.Sh, g.Sw),
                        A("pads", g.Pt, g.Pl, g.Pb, g.Pr), A("dilations", g.Dh, g.Dw), A("group", (long)g.Groups),
                        A("output_padding", g.OutPadH, g.OutPadW)));
                    return;
                }
                case "linear":
                {
                    var x = n.Inputs[0];
                    if (x.Shape.Rank == 2)
                    {
                        Out(Op("Gemm", L, n.Inputs.Select(Name).ToArray(), A("transB", 1L)));
                        return;
                    }
                    var wt = Op("Transpose", L, new[] { In(1) }, A("perm", 1L, 0L));
                    var m = Op("MatMul", L, new[] { In(0), wt });
                    Out(n.Inputs.Count > 2 ? Op("Add", L, new[] { m, In(2) }) : m);
                    return;
                }
                case "batchnorm":
                    Out(Op("BatchNormalization", L, new[] { In(0), Name(P("weight")!), Name(P("bias")!), Name(P("running_mean")!), Name(P("running_var")!) },
                        A("epsilon", F(n.A<BatchNormAttrs>().Eps))));
                    return;
                case "relu": Out(Op("Relu", L, new[] { In(0) })); return;
                case "sigmoid": Out(Op("Sigmoid", L, new[] { In(0) })); return;
                case "tanh": Out(Op("Tanh", L, new[] { In(0) })); return;
                case "relu6": Out(Op("Clip", L, new[] { In(0), ScalarF(0), ScalarF(6) })); return;
                case "leaky_relu": Out(Op("LeakyRelu", L, new[] { In(0) }, A("alpha", F(n.A<ElemAttrs>()[0])))); return;
                case "elu": Out(Op("Elu", L, new[] { In(0) }, A("alpha", F(n.A<ElemAttrs>()[0])))); return;
                case "selu": Out(Op("Selu", L, new[] { In(0) })); return;   // ONNX's default alpha and gamma are PyTorch's constants
                case "hard_sigmoid": Out(Op("HardSigmoid", L, new[] { In(0) }, A("alpha", 1f / 6), A("beta", 0.5f))); return;   // relu6(x + 3) / 6
                case "hardswish": Out(Op("HardSwish", L, new[] { In(0) })); return;   // x · relu6(x + 3) / 6 (opset 14)
                case "gelu":
                {
                    // x · ½ (1 + erf(x / √2)) (opset 17 has no Gelu)
                    var e = Op("Erf", L, new[] { Op("Mul", L, new[] { In(0), ScalarF((float)(1 / Math.Sqrt(2))) }) });
                    Out(Op("Mul", L, new[] { In(0), Op("Mul", L, new[] { Op("Add", L, new[] { e, ScalarF(1) }), ScalarF(0.5f) }) }));
                    return;
                }
                case "gelu_tanh":
                {
                    // ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))
                    var x = In(0);
                    var x3 = Op("Mul", L, new[] { Op("Mul", L, new[] { x, x }), x });
                    var inner = Op("Mul", L, new[] { Op("Add", L, new[] { x, Op("Mul", L, new[] { x3, ScalarF(0.044715f) }) }), ScalarF((float)Math.Sqrt(2 / Math.PI)) });
                    var t = Op("Add", L, new[] { Op("Tanh", L, new[] { inner }), ScalarF(1) });
                    Out(Op("Mul", L, new[] { Op("Mul", L, new[] { x, t }), ScalarF(0.5f) }));
                    return;
                }
                case "silu": Out(Op("Mul", L, new[] { In(0), Op("Sigmoid", L, new[] { In(0) }) })); return;
                case "softplus":
                {
                    // PyTorch: x when β·x > threshold, else softplus(β·x) / β
                    var bx = Op("Mul", L, new[] { In(0), ScalarF(F(n.A<ElemAttrs>()[0])) });
                    var sp = Op("Div", L, new[] { Op("Softplus", L, new[] { bx }), ScalarF(F(n.A<ElemAttrs>()[0])) });
                    Out(Op("Where", L, new[] { Op("Greater", L, new[] { bx, ScalarF(F(n.A<ElemAttrs>()[1])) }), In(0), sp }));
                    return;
                }
                case "prelu":
                {
                    var w = n.Inputs[1];
                    var slope = In(1);
                    int rank = n.Inputs[0].Shape.Rank;
                    if (w.Shape.KnownElements > 1 && rank > 2)
                        slope = Reshape(slope, Shape.Of(new[] { (int)w.Shape.KnownElements }.Concat(Enumerable.Repeat(1, rank - 2)).ToArray()), L);
                    Out(Op("PRelu", L, new[] { In(0), slope }));
                    return;
                }
                case "softmax": Out(Op("Softmax", L, new[] { In(0) }, A("axis", (long)n.A<AxisAttrs>().Axis))); return;
                case "log_softmax": Out(Op("LogSoftmax", L, new[] { In(0) }, A("axis", (long)n.A<AxisAttrs>().Axis))); return;
                case "maxpool2d":
                {
                    var p = n.A<PoolAttrs>();
                    Out(Op("MaxPool", L, new[] { In(0) }, A("kernel_shape", p.Kh, p.Kw), A("strides", p.Sh, p.Sw),
                        A("pads", p.Ph, p.Pw, p.Ph, p.Pw), A("ceil_mode", p.Ceil ? 1L : 0L)));
                }
                    return;
                case "avgpool2d":
                {
                    var p = n.A<PoolAttrs>();
                    Out(Op("AveragePool", L, new[] { In(0) }, A("kernel_shape", p.Kh, p.Kw), A("strides", p.Sh, p.Sw),
                        A("pads", p.Ph, p.Pw, p.Ph, p.Pw), A("ceil_mode", p.Ceil ? 1L : 0L),
                        A("count_include_pad", p.CountPad ? 1L : 0L)));
                }
                    return;
                case "globalavgpool":
                    Out(Op("Flatten", L, new[] { Op("GlobalAveragePool", L, new[] { In(0) }) }, A("axis", 1L)));
                    return;
                case "adaptive_avgpool2d":
                {
                    var xs = n.Inputs[0].Shape; var ys = y.Shape;
                    int h = xs[2].Value, w = xs[3].Value, oh = ys[2].Value, ow = ys[3].Value;
                    if (h % oh == 0 && w % ow == 0)
                    {
                        long kh = h / oh, kw = w / ow;
                        Out(Op("AveragePool", L, new[] { In(0) }, A("kernel_shape", kh, kw), A("strides", kh, kw)));
                        return;
                    }
                    // PyTorch's windows [floor(i·H/oh), ceil((i+1)·H/oh)): one Slice + ReduceMean per output cell, concatenated
                    var rows = new List<string>();
                    for (int i = 0; i < oh; i++)
                    {
                        var cells = new List<string>();
                        for (int j = 0; j < ow; j++)
                        {
                            long h0 = (long)i * h / oh, h1 = ((long)(i + 1) * h + oh - 1) / oh, w0 = (long)j * w / ow, w1 = ((long)(j + 1) * w + ow - 1) / ow;
                            var cell = Op("Slice", L, new[] { In(0), ConstI(L + "/starts", h0, w0), ConstI(L + "/ends", h1, w1), ConstI(L + "/axes", 2, 3) });
                            cells.Add(Op("ReduceMean", L, new[] { cell }, A("axes", 2L, 3L), A("keepdims", 1L)));
                        }
                        rows.Add(cells.Count == 1 ? cells[0] : Op("Concat", L, cells.ToArray(), A("axis", 3L)));
                    }
                    Out(rows.Count == 1 ? rows[0] : Op("Concat", L, rows.ToArray(), A("axis", 2L)));
                    return;
                }
                case "flatten":
                case "reshape":
                    Out(Reshape(In(0), y.Shape, L));
                    return;
                case "permute":
                    Out(Op("Transpose", L, new[] { In(0) }, A("perm", n.A<PermuteAttrs>().Perm.Select(p => (long)p).ToArray())));
                    return;
                case "add": case "broadcast_add": Out(Op("Add", L, new[] { In(0), In(1) })); return;
                case "sub": case "broadcast_sub": Out(Op("Sub", L, new[] { In(0), In(1) })); return;
                case "mul": case "broadcast_mul": Out(Op("Mul", L, new[] { In(0), In(1) })); return;
                case "scale": Out(Op("Mul", L, new[] { In(0), ScalarF(F(n.A<ElemAttrs>()[0])) })); return;
                case "affine": Out(Op("Add", L, new[] { Op("Mul", L, new[] { In(0), ScalarF(F(n.A<ElemAttrs>()[0])) }), ScalarF(F(n.A<ElemAttrs>()[1])) })); return;
                case "concat": Out(Op("Concat", L, n.Inputs.Select(Name).ToArray(), A("axis", (long)n.A<AxisAttrs>().Axis))); return;
                case "slice":
                {
                    var (axis, start, step) = (n.A<SliceAttrs>().Axis, n.A<SliceAttrs>().Start, n.A<SliceAttrs>().Step);
                    int size = y.Shape[axis].Value;
                    long end = start + (long)(size - 1) * step + 1;
                    Out(Op("Slice", L, new[] { In(0), ConstI(L + "/starts", start), ConstI(L + "/ends", end), ConstI(L + "/axes", axis), ConstI(L + "/steps", step) }));
                    return;
                }
                case "mean":
                case "sum":
                {
                    var xs = n.Inputs[0].Shape; var ys = y.Shape;
                    var axes = Enumerable.Range(0, xs.Rank).Where(i => ys[i].IsKnown && ys[i].Value == 1 && !(xs[i].IsKnown && xs[i].Value == 1)).Select(i => (long)i).ToArray();
                    if (axes.Length == 0) { Out(Op("Identity", L, new[] { In(0) })); return; }
                    Out(n.Op == "sum"
                        ? Op("ReduceSum", L, new[] { In(0), ConstI(L + "/axes", axes) }, A("keepdims", 1L))
                        : Op("ReduceMean", L, new[] { In(0) }, A("axes", axes), A("keepdims", 1L)));
                    return;
                }
                case "matmul": Out(Op("MatMul", L, new[] { In(0), In(1) })); return;
                case "dropout":
                case "dropout2d":
                case "stochastic_depth":
                    Out(Op("Identity", L, new[] { In(0) }));   // eval mode: identity
                    return;
                case "sample_normal":
                    Out(Op("Identity", L, new[] { In(0) }));   // eval: "mean": z = mu
                    return;
                case "layernorm":
                {
                    int dims = n.A<NormAttrs>().Dims;
                    var normShape = new Shape(n.Inputs[0].Shape.Dims.Skip(n.Inputs[0].Shape.Rank - dims));
                    long count = normShape.KnownElements;
                    var dl = normShape.Dims.Select(d => (long)d.Value).ToArray();
                    string w = P("weight") is { } pw ? Name(pw) : ConstF(L + "/ones", Enumerable.Repeat(1f, (int)count).ToArray(), dl);
                    string b = P("bias") is { } pb ? Name(pb) : ConstF(L + "/zeros", new float[count], dl);
                    Out(Op("LayerNormalization", L, new[] { In(0), w, b }, A("axis", (long)-dims), A("epsilon", F(n.A<NormAttrs>().Eps))));
                    return;
                }
                case "instancenorm":
                case "groupnorm":
                {
                    // group norm as instance norm over [N, G, C/G·H·W], then the per-channel affine
                    var xs = n.Inputs[0].Shape;
                    int groups = n.A<NormAttrs>().Groups, c = xs[1].Value;
                    var grouped = Reshape(In(0), new Shape(new[] { xs[0], Dim.Of(groups), Dim.Of((int)(xs.KnownElements / xs[0].ValueOr1() / groups)) }), L);
                    var norm = Op("InstanceNormalization", L, new[] { grouped, ConstF(L + "/ones", Enumerable.Repeat(1f, groups).ToArray(), new long[] { groups }), ConstF(L + "/zeros", new float[groups], new long[] { groups }) },
                        A("epsilon", F(n.A<NormAttrs>().Eps)));
                    var back = Reshape(norm, xs, L);
                    if (P("weight") is { } w && P("bias") is { } b)
                    {
                        var cs = Shape.Of(new[] { c }.Concat(Enumerable.Repeat(1, xs.Rank - 2)).ToArray());
                        back = Op("Add", L, new[] { Op("Mul", L, new[] { back, Reshape(Name(w), cs, L) }), Reshape(Name(b), cs, L) });
                    }
                    Out(back);
                    return;
                }
                case "lrn":
                    Out(Op("LRN", L, new[] { In(0) }, A("size", (long)n.A<LrnAttrs>().Size), A("alpha", F(n.A<LrnAttrs>().Alpha)), A("beta", F(n.A<LrnAttrs>().Beta)), A("bias", F(n.A<LrnAttrs>().K))));
                    return;
                case "embedding":
                {
                    // inputs (ids, weight)
                    var ids = n.Inputs.First(v => v.Type == ElemType.Int);
                    var w = n.Inputs.First(v => v.Param != null);
                    Out(Op("Gather", L, new[] { Name(w), Name(ids) }, A("axis", 0L)));
                    return;
                }
                case "attention":
                {
                    // softmax(q kᵀ · scale [causal mask]) v
                    var q = n.Inputs[0]; var k = n.Inputs[1];
                    int r = k.Shape.Rank;
                    var perm = Enumerable.Range(0, r).Select(i => (long)i).ToArray();
                    (perm[r - 2], perm[r - 1]) = (perm[r - 1], perm[r - 2]);
                    var kt = Op("Transpose", L, new[] { In(1) }, A("perm", perm));
                    var s = Op("Mul", L, new[] { Op("MatMul", L, new[] { In(0), kt }), ScalarF(F(n.A<AttentionAttrs>().Scale)) });
                    if (n.A<AttentionAttrs>().Causal)
                    {
                        // keys j <= i (top-left aligned, as NetDsl's kernel): a lower-triangular mask of the score matrix's last two dims
                        var sshape = Op("Shape", L, new[] { s }, A("start", (long)-2));
                        var ones = Op("ConstantOfShape", L, new[] { sshape }, new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("one", new long[] { 1 }, new[] { 1f }) });
                        var tril = Op("Cast", L, new[] { Op("Trilu", L, new[] { ones }, A("upper", 0L)) }, A("to", (long)TensorProto.Types.DataType.Bool));
                        s = Op("Where", L, new[] { tril, s, ScalarF(float.NegativeInfinity) });
                    }
                    if (n.Inputs.Count > 3)
                    {
                        // key lengths [N]: keys j < lengths[n] (a sample with length 0 gives NaN rows here; NetDsl's kernel gives zeros)
                        int rank = q.Shape.Rank;
                        var tk = Op("Shape", L, new[] { s }, A("start", -1L));
                        var keys = Op("Range", L, new[] { ConstI0(L + "/zero", 0), Op("Squeeze", L, new[] { tk, ConstI(L + "/axis", 0) }), ConstI0(L + "/one", 1) });
                        var len = Op("Reshape", L, new[] { Op("Cast", L, new[] { In(3) }, A("to", (long)TensorProto.Types.DataType.Int64)), ConstI(L + "/lenshape", new[] { -1L }.Concat(Enumerable.Repeat(1L, rank - 1)).ToArray()) });
                        s = Op("Where", L, new[] { Op("Less", L, new[] { keys, len }), s, ScalarF(float.NegativeInfinity) });
                    }
                    var probs = Op("Softmax", L, new[] { s }, A("axis", -1L));
                    Out(Op("MatMul", L, new[] { probs, In(2) }));
                    if (n.Outputs.Count > 1) Bind(n.Outputs[1], probs);
                    return;
                }
                case "split_heads":
                {
                    // [N, T, P, H, dh] → P tensors [N, H, T, dh]
                    for (int i = 0; i < n.Outputs.Count; i++)
                    {
                        var part = Op("Gather", L, new[] { In(0), ConstI(L + "/part", i) }, A("axis", 2L));   // [N, T, 1, H, dh]
                        var sq = Op("Squeeze", L, new[] { part, ConstI(L + "/axis", 2) });
                        Bind(n.Outputs[i], Op("Transpose", L, new[] { sq }, A("perm", 0L, 2L, 1L, 3L)));
                    }
                    return;
                }
                case "class_token":
                {
                    // [token; x] along the sequence: the token [1, 1, D] expanded to [N, 1, D]
                    var xs = n.Inputs[0].Shape;
                    var tok = Op("Expand", L, new[] { In(1), ShapeTensor(new Shape(new[] { xs[0], Dim.Of(1), xs[2] }), L) });
                    Out(Op("Concat", L, new[] { tok, In(0) }, A("axis", 1L)));
                    return;
                }
                case "zeros":   // the zero biases of a recurrent layer with bias: false
                    Out(ConstF(L + "/zeros", new float[y.Shape.KnownElements], y.Shape.Dims.Select(d => (long)d.Value).ToArray()));
                    return;
                case "lstm":
                case "gru":
                case "rnn":
                {
                    // PyTorch's layout [N, T, D] and gate blocks (LSTM i f g o, GRU r z n) → ONNX [T, N, D] and (LSTM i o f c, GRU z r h);
                    // the blocks are re-ordered in the graph from the state_dict initializers (ONNX Runtime folds it)
                    var ra = n.A<RnnAttrs>();
                    string cell = ra.Cell;
                    int hidden = ra.Hidden, dirs = ra.Dirs, layer = ra.Layer;
                    int[] order = cell == "Lstm" ? new[] { 0, 3, 1, 2 } : cell == "Gru" ? new[] { 1, 0, 2 } : new[] { 0 };
                    string Packed(int k)   // 0 weight_ih, 1 weight_hh, 2 bias_ih, 3 bias_hh → [dirs, gates·H, …]
                    {
                        var perDir = new List<string>();
                        for (int d = 0; d < dirs; d++)
                        {
                            var p = In(1 + 4 * d + k);
                            var blocks = order.Select(b => order.Length == 1 ? p
                                : Op("Slice", L, new[] { p, ConstI(L + "/starts", (long)b * hidden), ConstI(L + "/ends", (long)(b + 1) * hidden), ConstI(L + "/axes", 0) })).ToArray();
                            var cat = blocks.Length == 1 ? blocks[0] : Op("Concat", L, blocks, A("axis", 0L));
                            perDir.Add(Op("Unsqueeze", L, new[] { cat, ConstI(L + "/axes", 0) }));
                        }
                        return perDir.Count == 1 ? perDir[0] : Op("Concat", L, perDir.ToArray(), A("axis", 0L));
                    }
                    var inputs = new List<string>
                    {
                        Op("Transpose", L, new[] { In(0) }, A("perm", 1L, 0L, 2L)),
                        Packed(0), Packed(1), Op("Concat", L, new[] { Packed(2), Packed(3) }, A("axis", 1L)),
                    };
                    // initial states [layers·dirs, N, H]: this layer's rows
                    int at = 1 + 4 * dirs;
                    string State() => Op("Slice", L, new[] { In(at++), ConstI(L + "/starts", (long)layer * dirs), ConstI(L + "/ends", (long)(layer + 1) * dirs), ConstI(L + "/axes", 0) });
                    if (ra.HasH0) { inputs.Add(""); inputs.Add(State()); }
                    if (ra.HasC0) inputs.Add(State());
                    var attrs = new List<AttributeProto> { A("hidden_size", (long)hidden), A("direction", dirs == 2 ? "bidirectional" : "forward") };
                    if (cell == "Gru") attrs.Add(A("linear_before_reset", 1L));
                    if (cell.StartsWith("Rnn", StringComparison.Ordinal)) attrs.Add(A("activations", Enumerable.Repeat(cell == "RnnRelu" ? "Relu" : "Tanh", dirs).ToArray()));
                    var seq = Op(cell == "Lstm" ? "LSTM" : cell == "Gru" ? "GRU" : "RNN", L, inputs.ToArray(), attrs.ToArray());   // Y [T, dirs, N, H]
                    Out(Reshape(Op("Transpose", L, new[] { seq }, A("perm", 2L, 0L, 1L, 3L)), y.Shape, L));
                    return;
                }
                case "positional_encoding":
                {
                    // x + PE[:T], PE[pos, c] = sin(pos·ω) (even c) or cos(pos·ω) (odd c), ω = base^(−2⌊c/2⌋/D), as NetDsl's kernel (in double)
                    var xs = n.Inputs[0].Shape;
                    int d = xs[2].Value, rows = xs[1].IsKnown ? xs[1].Value : _g.SymbolBounds[xs[1].Symbol!];
                    double b = n.A<PositionalAttrs>().Base;
                    var table = new float[rows * d];
                    for (int pos = 0; pos < rows; pos++)
                        for (int c = 0; c < d; c++)
                        {
                            double w = Math.Exp(-(c - c % 2) * Math.Log(b) / d);
                            table[pos * d + c] = (float)(c % 2 == 0 ? Math.Sin(pos * w) : Math.Cos(pos * w));
                        }
                    var pe = ConstF(L + "/table", table, new long[] { rows, d });
                    if (!xs[1].IsKnown)
                        pe = Op("Slice", L, new[] { pe, ConstI(L + "/starts", 0), SymbolDim(xs[1].Symbol!, L), ConstI(L + "/axes", 0) });
                    Out(Op("Add", L, new[] { In(0), pe }));
                    return;
                }
                case "gram":
                {
                    // G = F Fᵀ / (C·H·W) with F = x as [N, C, H·W]
                    var xs = n.Inputs[0].Shape;
                    int c = xs[1].Value, hw = xs[2].Value * xs[3].Value;
                    var f = Reshape(In(0), new Shape(new[] { xs[0], Dim.Of(c), Dim.Of(hw) }), L);
                    var ft = Op("Transpose", L, new[] { f }, A("perm", 0L, 2L, 1L));
                    Out(Op("Mul", L, new[] { Op("MatMul", L, new[] { f, ft }), ScalarF((float)(1.0 / ((long)c * hw))) }));
                    return;
                }
                case "maxout":
                {
                    // channels c·pieces + j → [N, C, pieces, …], max over the pieces
                    var xs = n.Inputs[0].Shape;
                    int pieces = n.A<MaxoutAttrs>().Pieces;
                    var split = new Shape(new[] { xs[0], Dim.Of(xs[1].Value / pieces), Dim.Of(pieces) }.Concat(xs.Dims.Skip(2)));
                    Out(Op("ReduceMax", L, new[] { Reshape(In(0), split, L) }, A("axes", new[] { 2L }), A("keepdims", 0L)));
                    return;
                }
                case "upsample_nearest2d":
                case "upsample_bilinear2d":
                {
                    var xs = n.Inputs[0].Shape; var ys = y.Shape;
                    var scales = ConstF(L + "/scales", new[] { 1f, 1f, (float)ys[2].Value / xs[2].Value, (float)ys[3].Value / xs[3].Value }, new long[] { 4 });
                    const string roi = "";   // an omitted optional input
                    Out(n.Op == "upsample_nearest2d"
                        ? Op("Resize", L, new[] { In(0), roi, scales }, A("mode", "nearest"), A("coordinate_transformation_mode", "asymmetric"), A("nearest_mode", "floor"))
                        : Op("Resize", L, new[] { In(0), roi, scales }, A("mode", "linear"),
                            A("coordinate_transformation_mode", n.A<UpsampleAttrs>().AlignCorners ? "align_corners" : "half_pixel")));
                    return;
                }
            }
            throw new OnnxExportException($"network {_g.Name}: {n.Op} at line {n.Span.Line} ({n.Layer}) has no ONNX mapping");
        }
    }
}

internal static class DimExtensions
{
    public static int ValueOr1(this Dim d) => d.IsKnown ? d.Value : 1;
}
