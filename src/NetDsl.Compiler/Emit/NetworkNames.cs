using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Compiler.Graph;
using NetDsl.Compiler.Syntax;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// The C# names of one generated network, decided before anything is printed: the class, its members derived from
    /// .net names (layers, inputs, outputs, symbolic dims) and the method parameters. Every .net-derived identifier of the
    /// generated file comes from here (through <see cref="Names.Identifier"/>), so a name can neither break the C# nor
    /// change what it means:
    /// <list type="bullet">
    /// <item>a keyword is written with '@' (<c>@class</c>, <c>@base</c>);</item>
    /// <item>a network named like a type or namespace the generated code uses (<c>Tensor</c>, <c>System</c>, <c>T</c>), or like a
    /// generated member (<c>Forward</c>), is an error (NDSL0214): a class name is API and is not renamed silently;</item>
    /// <item>a member or parameter that would collide with a generated or inherited member, or with such a type, gets a '_'
    /// suffix and a warning (NDSL0215) saying which name it got;</item>
    /// <item>two .net names that map to one C# name (layers <c>a.b</c> and <c>A.b</c> both give <c>A_b</c>) are an error (NDSL0214).</item>
    /// </list>
    /// Generated helper names (functors, layer classes, private fields) are taken with <see cref="Fresh"/> after the user's
    /// names, with a number appended when taken.
    /// </summary>
    internal sealed class NetworkNames
    {
        /// <summary>
        /// Types and namespaces that generated code names without qualification, plus the type parameter T. A network class
        /// or a member with one of these names would hide them (a test collects every such name from the generated code of
        /// all example networks and checks that it is listed here).
        /// </summary>
        public static readonly HashSet<string> ReservedTypes = new HashSet<string>(StringComparer.Ordinal)
        {
            "T", "System", "NetDsl", "Tensor", "NetworkBase", "Device", "Parameter", "Buffer", "LayerParameters", "InitKind",
            "Optimizer", "Identity", "IMap1", "IMap2", "IMap3", "IGpuMap1", "IGpuMap2", "IGpuMap3", "IKernels", "CpuKernels", "PackedWeights",
            "KernelProfile", "CallContext", "Math", "MathF", "Array", "Span", "ReadOnlySpan", "Vector", "Vector128", "Vector256",
            "Vector512", "IBinaryFloatingPointIeee754", "MethodImpl", "MethodImplOptions", "MethodImplAttribute", "Unsafe",
            "InvalidOperationException", "ArgumentException", "NotSupportedException", "ArgumentOutOfRangeException",
            "Exception", "Object", "String", "Int32", "Int64", "Single", "Double", "Boolean", "MemoryExtensions", "Enumerable",
            "GC", "Stopwatch", "Runtime", "Numerics", "Intrinsics", "CompilerServices", "Diagnostics", "Optim", "Training",
            "ConvGeometry", "PoolGeometry", "GenReduction", "LossReduction", "PointwiseLoss", "RnnCell", "VMath",
            "ParameterWrites",
        };

        /// <summary>Members of the generated class that are not derived from .net names.</summary>
        public static readonly HashSet<string> GeneratedMembers = new HashSet<string>(StringComparer.Ordinal)
        {
            "ParameterCount", "Macs", "ActivationBytesPerSample", "PlannedBytesPerSample", "EvalPlannedBytesPerSample", "SourceFile", "NetworkName", "NetSource",
            "GradientOrder",
            "Forward", "TrainStep", "AccumulateGradients", "ComputeLoss", "Backward", "Bind", "Plan", "RunForward",
            "RunBackward", "EnsureFoldScratch", "EnsureAccumulateScratch", "PlanEval", "RunEval",
            "EvalChunkRows", "EvalChunkSize", "EvalPlannedBytes", "RunEvalChunks", "EvalChunkViews", "EvalWholeViews", "EvalRows",
        };

        /// <summary>
        /// Members every generated class inherits (NetworkBase&lt;T&gt; and object). A test reflects over NetworkBase&lt;T&gt;
        /// and fails if one of its public or protected members is missing here.
        /// </summary>
        public static readonly HashSet<string> InheritedMembers = new HashSet<string>(StringComparer.Ordinal)
        {
            "AddBuffer", "AddParameter", "Buffers", "CheckDevice", "Device", "DropoutSeed", "Eval", "GetBuffer", "GetParameter",
            "InitializeParameters", "InputShapeError", "K", "Load", "Name", "NoiseSeed", "Parameters", "ResetBuffers", "Save",
            "Seed", "StepCount", "Train", "Training", "ZeroGrad", "CheckFinite", "ValidateInputs", "CheckFiniteAfter", "FiniteCheckNames",
            "CheckInputFinite", "FindNonFinite", "NonFiniteError", "SampleOffset", "GradientOrder", "GradientReadyHook",
            "GradientReady", "ParameterIndex", "Freeze", "Unfreeze", "SaveWeights", "LoadWeights", "StateDict", "LoadStateDict",
            "ExportOnnx", "ToOnnx", "Fit", "BatchesTracked", "MarkModified", "ParameterWriteKey",
            "ToString", "Equals", "GetHashCode", "GetType", "MemberwiseClone", "Finalize", "ReferenceEquals",
        };

        /// <summary>Names a value tuple element may not have at any position (CS8126), besides ItemN at another position.</summary>
        private static readonly HashSet<string> TupleReserved = new HashSet<string>(StringComparer.Ordinal)
        { "CompareTo", "Deconstruct", "Equals", "GetHashCode", "Rest", "ToString", "GetType" };

        private readonly DiagnosticBag _bag;
        /// <summary>Class-scope identifiers taken, with the .net name that took it (null: generated or inherited).</summary>
        private readonly Dictionary<string, string?> _members = new Dictionary<string, string?>(StringComparer.Ordinal);

        public bool Ok { get; private set; } = true;
        /// <summary>The class name (an identifier, '@' before a keyword).</summary>
        public string Class { get; }
        /// <summary>Layer (state) name → property.</summary>
        public Dictionary<string, string> LayerProps { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Input name → method parameter.</summary>
        public Dictionary<string, string> InputParams { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Input name → the static shape property (<c>ImageShape</c>).</summary>
        public Dictionary<string, string> InputShapeProps { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Input name → the gradient property (<c>ImageGrad</c>) for inputs declared `grad`.</summary>
        public Dictionary<string, string> InputGradProps { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Output name → tuple element (several outputs) or the Backward argument's base.</summary>
        public Dictionary<string, string> OutputElements { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Symbolic dim → its local in Bind/Plan.</summary>
        public Dictionary<string, string> SymbolLocals { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Symbolic dim → the constant of its declared bound (<c>MaxT</c>).</summary>
        public Dictionary<string, string> SymbolBoundConsts { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>The Backward(dY) argument, when the network has `output y grad`.</summary>
        public string? BackwardArg { get; private set; }

        public NetworkNames(NetGraph g, IEnumerable<string> stateLayers, DiagnosticBag bag)
        {
            _bag = bag;
            foreach (var r in ReservedTypes) _members[r] = null;
            foreach (var r in GeneratedMembers) _members[r] = null;
            foreach (var r in InheritedMembers) _members[r] = null;

            // the class: errors, never renamed
            Class = Names.Identifier(g.Name);
            var bare = Names.Bare(Class);
            if (ReservedTypes.Contains(bare))
                Error(g.Span, $"network '{g.Name}' has the name of a type or namespace the generated code uses ({string.Join(", ", ReservedTypes.Where(x => x.Length > 1).Take(6))}, …); rename the network");
            else if (GeneratedMembers.Contains(bare) || InheritedMembers.Contains(bare))
                Error(g.Span, $"network '{g.Name}' has the name of a member of every generated network class ({bare}); rename the network");
            _members[bare] = null;   // a member may not have its class's name (CS0542)

            foreach (var layer in stateLayers)
            {
                var span = g.Nodes.FirstOrDefault(n => n.Layer == layer)?.Span ?? g.Span;
                LayerProps[layer] = Member(Names.Pascal(layer), $"layer '{layer}'", span);
            }
            foreach (var (name, v) in g.Inputs)
            {
                InputShapeProps[name] = Member(Names.Pascal(name) + "Shape", $"input '{name}'", g.Span);
                if (g.GradInputs.Contains(v)) InputGradProps[name] = Member(Names.Pascal(name) + "Grad", $"input '{name}'", g.Span);
            }
            foreach (var kv in g.SymbolBounds.OrderBy(k => k.Key, StringComparer.Ordinal))
                SymbolBoundConsts[kv.Key] = Member("Max" + Names.Pascal(kv.Key), $"symbolic dim '{kv.Key}'", g.Span);

            // method parameters: inputs (shared by Forward, TrainStep, ComputeLoss, Bind). A parameter must not hide a member
            // or a type that the method bodies use, nor the bodies' own locals and parameters.
            // (T may be a parameter or local: type arguments such as Tensor<T> still find the type parameter)
            var locals = new Dictionary<string, string?>(StringComparer.Ordinal) { ["optimizer"] = null, ["loss"] = null };
            foreach (var k in _members.Keys) if (k != "T") locals[k] = null;
            foreach (var (name, _) in g.Inputs)
                InputParams[name] = Take(locals, Names.Identifier(name), $"input '{name}'", g.Span, member: false);
            foreach (var s in g.Symbols)
            {
                var local = Names.Bare(Names.Identifier(s));
                while (locals.ContainsKey(local) || Names.CSharpKeywords.Contains(local)) local += "_";
                locals[local] = null;
                SymbolLocals[s] = Names.Identifier(local);
            }

            // outputs: tuple element names (several outputs), and the Backward argument
            var elems = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var r in TupleReserved) elems[r] = null;
            for (int i = 0; i < g.Outputs.Count; i++)
            {
                var o = g.Outputs[i];
                var scope = new Dictionary<string, string?>(elems, StringComparer.Ordinal);
                for (int k = 1; k <= Math.Max(8, g.Outputs.Count); k++)
                    if (k != i + 1 && !scope.ContainsKey("Item" + k)) scope["Item" + k] = null;
                var e = OutputElements[o.Name] = Take(scope, Names.Pascal(o.Name), $"output '{o.Name}'", g.Span, member: false);
                elems[Names.Bare(e)] = $"output '{o.Name}'";
            }
            if (g.GradOutput != null && g.Outputs.Any(o => o.Value == g.GradOutput))
            {
                var outName = g.Outputs.First(o => o.Value == g.GradOutput).Name;
                var backwardLocals = new Dictionary<string, string?>(StringComparer.Ordinal) { ["optimizer"] = null, ["y"] = null };
                foreach (var k in _members.Keys) if (k != "T") backwardLocals[k] = null;
                BackwardArg = Take(backwardLocals, Names.Identifier("d" + Names.Pascal(outName)), $"output '{outName}'", g.Span, member: false);
            }
        }

        /// <summary>A class-scope member for a .net name.</summary>
        private string Member(string desired, string what, SourceSpan span) => Take(_members, desired, what, span, member: true);

        private string Take(Dictionary<string, string?> scope, string desired, string what, SourceSpan span, bool member)
        {
            var bare = Names.Bare(desired);
            if (bare.StartsWith("_", StringComparison.Ordinal))
            {
                // names starting with '_' are the generated private fields' (a parameter named so would hide one)
                var renamed = "X" + bare;
                Warn(span, $"{what} becomes the C# name '{renamed}' (names starting with '_' are generated fields')");
                bare = renamed;
            }
            if (scope.TryGetValue(bare, out var owner))
            {
                if (owner != null)
                {
                    Error(span, $"{what} and {owner} both become the C# name '{bare}'; rename one of them");
                    return Names.Identifier(bare);
                }
                var renamed = bare + "_";
                while (scope.ContainsKey(renamed)) renamed += "_";
                Warn(span, $"{what} becomes the C# name '{renamed}' ('{bare}' is a {(member ? "member of the generated class or a type it uses" : "name the generated method uses")})");
                bare = renamed;
            }
            scope[bare] = what;
            return Names.Identifier(bare);
        }

        /// <summary>A class-scope name for generated code (functor, layer class, field): <paramref name="baseName"/>, or with 2, 3… appended.</summary>
        public string Fresh(string baseName)
        {
            var name = Names.Bare(Names.Identifier(baseName));
            for (int n = 2; _members.ContainsKey(name); n++) name = baseName + n;
            _members[name] = null;
            return name;
        }

        /// <summary>Like <see cref="Fresh"/> for two names at once: <paramref name="baseName"/> and it with <paramref name="suffix"/> (a functor and its GPU twin).</summary>
        public string FreshPair(string baseName, string suffix)
        {
            var name = Names.Bare(Names.Identifier(baseName));
            for (int n = 2; _members.ContainsKey(name) || _members.ContainsKey(name + suffix); n++) name = baseName + n;
            _members[name] = null;
            _members[name + suffix] = null;
            return name;
        }

        private void Error(SourceSpan span, string message) { Ok = false; _bag.Error(DiagnosticIds.NameCollision, span, message); }
        private void Warn(SourceSpan span, string message) => _bag.Warning(DiagnosticIds.NameRenamed, span, message);
    }
}
