using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// Emits less C# for big networks: kernel calls that differ only in their tensors (ResNet-50's 16 bottlenecks repeat the
    /// same batchnorm, convolution and element-wise calls with the same constants) share one small method that holds the
    /// constant arguments (epsilon, momentum, geometry, functors), and each call site passes only its tensors:
    /// <c>BatchNormForward2(_conv1_2, Bn1.Weight.Value, …, training);</c> instead of the full call. The C# compiler then binds
    /// and emits the constant part once per shape of call instead of once per kernel (build time: docs/architecture.md).
    /// A call is shared only when two or more kernels use its form and it has a constant argument; anything the outliner does
    /// not understand (an unknown name, an unbalanced bracket, more than one statement) stays as it was.
    /// Call sites are placeholders until <see cref="Resolve"/> knows how many kernels use each form.
    /// </summary>
    internal sealed class CallOutliner
    {
        private const char Mark = '\u0001';
        /// <summary>The line <see cref="Resolve"/> replaces by the shared methods.</summary>
        public const string MethodsMarker = "\u0002shared kernel calls\u0002";
        /// <summary>
        /// Calls are shared only in a network with at least this many calls that could be (ResNet-34 and deeper: about 400;
        /// ResNet-18/20 about 200, LeNet-5 20 stay inline).
        /// </summary>
        public const int MinCalls = 300;

        /// <summary>Names a constant argument may use: types and members of the runtime, and the class's functors (added per network).</summary>
        private readonly HashSet<string> _constantNames = new HashSet<string>(StringComparer.Ordinal)
        {
            "T", "CreateChecked", "One", "Zero", "ConvGeometry", "PoolGeometry", "Of", "LossReduction", "Mean", "Sum", "None",
            "ReadOnlySpan", "Empty", "default", "new", "null", "true", "false", "Identity", "int", "long", "float", "double",
            "Training",   // the network's mode: the shared method is an instance method and reads it at the same moment
        };
        /// <summary>The functors (CPU form) among the constant names: they name the shared method (BatchNormForwardRelu).</summary>
        private readonly HashSet<string> _functors = new HashSet<string>(StringComparer.Ordinal);

        private sealed class Form
        {
            public string Name = "";
            public string BaseName = "";
            public string Method = "";
            public List<string> Args = new List<string>();     // constant text, or null-marked parameter slots
            public List<string?> ParamTypes = new List<string?>();
            /// <summary>Arguments (by position) that are parameter gradients accumulated through a scratch (<see cref="OutlineAccumulating"/>).</summary>
            public List<int> AccArgs = new List<int>();
            public int Uses;
        }

        private sealed class Site
        {
            public string Inline = "";
            public Form Form = null!;
            public List<string> Varying = new List<string>();
        }

        private readonly Dictionary<string, Form> _forms = new Dictionary<string, Form>(StringComparer.Ordinal);
        private readonly List<Form> _formOrder = new List<Form>();
        private readonly List<Site> _sites = new List<Site>();

        /// <summary>A fused functor pair of the class: <paramref name="name"/> and its ILGPU twin <paramref name="gpuName"/>.</summary>
        public void AllowFunctor(string name, string gpuName)
        {
            _constantNames.Add(name);
            _constantNames.Add(gpuName);
            _functors.Add(name);
        }

        private static readonly Regex Geometry = new Regex(@"^(Conv|Pool)Geometry\.Of\(([\d, ]*)\)$", RegexOptions.CultureInvariant);

        /// <summary>The shared method's name: the kernel method, its functors and its geometry (Conv2dForwardStride2Pad1, MapAddRelu).</summary>
        private string BaseName(string method, List<string> constants)
        {
            var sb = new StringBuilder(Regex.Replace(method, "<.*", ""));
            foreach (var c in constants)
            {
                var g = Geometry.Match(c);
                if (g.Success)
                {
                    var n = g.Groups[2].Value.Split(',').Select(x => x.Trim()).ToArray();
                    var labels = g.Groups[1].Value == "Conv" ? new[] { "Stride", "Pad" } : new[] { "Window", "Stride", "Pad" };
                    for (int i = 0; i < n.Length && i < labels.Length; i++) sb.Append(labels[i]).Append(n[i]);
                    continue;
                }
                foreach (Match id in Identifier.Matches(c))
                    if (_functors.Contains(id.Value)) sb.Append(id.Value.EndsWith("Op", StringComparison.Ordinal) ? id.Value.Substring(0, id.Value.Length - 2) : id.Value);
            }
            return sb.ToString();
        }

        private static readonly Regex CallHead = new Regex(@"^K\.(\w+(?:<[^()]*>)?)\(", RegexOptions.CultureInvariant);
        private static readonly Regex Identifier = new Regex(@"[A-Za-z_]\w*", RegexOptions.CultureInvariant);
        private static readonly Regex Number = new Regex(@"(?<![A-Za-z_\w])\d[\d.]*(?:[eE][+-]?\d+)?[a-zA-Z]?", RegexOptions.CultureInvariant);

        /// <summary>
        /// <paramref name="call"/> (<c>K.Method(args);</c>), or a placeholder for it when each argument is either one of
        /// <paramref name="varying"/> (argument text → C# parameter type) or a constant.
        /// </summary>
        public string Outline(string call, IReadOnlyDictionary<string, string> varying) =>
            Outline(call, varying, Array.Empty<(string, string)>(), call);

        /// <summary>
        /// A call whose parameter-gradient outputs go to scratch views when accumulating: <paramref name="call"/> writes the
        /// gradients themselves (each <see cref="ValueTuple{T1, T2}.Item1"/> of <paramref name="accumulated"/>, a varying
        /// argument), <paramref name="inline"/> is the code without sharing (the call with <c>(accumulate ? scratch : grad)</c>,
        /// then <c>if (accumulate) K.Accumulate(scratch, grad);</c>). Shared, the method takes each scratch and <c>accumulate</c>
        /// and does both, so the call site is one short call.
        /// </summary>
        public string OutlineAccumulating(string call, IReadOnlyDictionary<string, string> varying, IReadOnlyList<(string Grad, string Scratch)> accumulated, string inline) =>
            Outline(call, varying, accumulated, inline);

        private string Outline(string call, IReadOnlyDictionary<string, string> varying, IReadOnlyList<(string Grad, string Scratch)> accumulated, string inline)
        {
            var m = CallHead.Match(call);
            if (!m.Success || !call.EndsWith(");", StringComparison.Ordinal)) return inline;
            var args = SplitArgs(call, m.Length, call.Length - 2);
            if (args == null || args.Count == 0) return inline;
            var key = new StringBuilder(m.Groups[1].Value).Append('(');
            var siteArgs = new List<string>();
            var slots = new List<string>();
            var types = new List<string?>();
            int constants = 0;
            foreach (var raw in args)
            {
                var a = raw.Trim();
                if (varying.TryGetValue(a, out var type))
                {
                    key.Append('\u0003').Append(type).Append('\u0003');
                    siteArgs.Add(a);
                    slots.Add("");
                    types.Add(type);
                }
                else if (IsConstant(a))
                {
                    key.Append(a);
                    slots.Add(a);
                    types.Add(null);
                    constants++;
                }
                else return inline;
                key.Append(',');
            }
            if (constants == 0) return inline;
            var accArgs = new List<int>();
            foreach (var (grad, scratch) in accumulated)
            {
                int at = args.FindIndex(a => a.Trim() == grad);
                // the gradient must be one argument exactly (the inline form redirects every occurrence)
                if (at < 0 || types[at] != "Tensor<T>" || accArgs.Contains(at) || args.Count(a => a.Trim() == grad) != 1) return inline;
                accArgs.Add(at);
                siteArgs.Add(scratch);
                key.Append("|acc").Append(at);
            }
            if (accArgs.Count > 0) siteArgs.Add("accumulate");
            var k = key.ToString();
            if (!_forms.TryGetValue(k, out var form))
            {
                form = new Form { Method = m.Groups[1].Value, Args = slots, ParamTypes = types, AccArgs = accArgs };
                form.BaseName = BaseName(form.Method, slots.Where((x, j) => types[j] == null).ToList()) + (types.Contains("PackedWeights<T>") ? "Packed" : "");
                _forms[k] = form;
                _formOrder.Add(form);
            }
            form.Uses++;
            _sites.Add(new Site { Inline = inline, Form = form, Varying = siteArgs });
            return $"{Mark}{_sites.Count - 1}{Mark}";
        }

        private bool IsConstant(string a)
        {
            if (a.Length == 0 || a.IndexOf('"') >= 0) return false;
            foreach (Match id in Identifier.Matches(Number.Replace(a, " ")))
                if (!_constantNames.Contains(id.Value)) return false;
            return true;
        }

        /// <summary>The top-level arguments between <paramref name="start"/> and <paramref name="end"/> (the closing parenthesis), or null when the brackets do not balance there.</summary>
        private static List<string>? SplitArgs(string s, int start, int end)
        {
            var args = new List<string>();
            int depth = 0, from = start;
            for (int i = start; i < end; i++)
            {
                char c = s[i];
                if (c == '"' || c == '\'' || c == ';') return null;
                if (c == '(' || c == '[' || c == '{' || c == '<') depth++;
                else if (c == ')' || c == ']' || c == '}' || c == '>') { if (--depth < 0) return null; }
                else if (c == ',' && depth == 0) { args.Add(s.Substring(from, i - from)); from = i + 1; }
            }
            if (depth != 0) return null;
            args.Add(s.Substring(from, end - from));
            return args;
        }

        /// <summary>
        /// Replaces the placeholders in <paramref name="code"/>: a form two or more kernels use becomes a method (named by
        /// <paramref name="fresh"/> after the kernel method) called with the tensors; a form used once stays inline. The
        /// methods replace the <see cref="MethodsMarker"/> line, in order of first use.
        /// </summary>
        public string Resolve(string code, Func<string, string> fresh)
        {
            if (_sites.Count < MinCalls)
            {
                // a small network stays fully inline: the C# compiler spends little on it, and every call reads as the kernel's
                foreach (var f in _formOrder) f.Uses = Math.Min(f.Uses, 1);
            }
            foreach (var f in _formOrder)
                if (f.Uses >= 2) f.Name = fresh(f.BaseName);
            var sb = new StringBuilder(code.Length);
            int i = 0;
            while (i < code.Length)
            {
                int a = code.IndexOf(Mark, i);
                int mk = code.IndexOf(MethodsMarker, i, StringComparison.Ordinal);
                if (a < 0 && mk < 0) { sb.Append(code, i, code.Length - i); break; }
                if (mk >= 0 && (a < 0 || mk < a))
                {
                    int lineStart = code.LastIndexOf('\n', mk) + 1;
                    sb.Append(code, i, lineStart - i);
                    EmitMethods(sb, new string(' ', mk - lineStart));
                    i = mk + MethodsMarker.Length + 1;
                    continue;
                }
                int b = code.IndexOf(Mark, a + 1);
                sb.Append(code, i, a - i);
                var site = _sites[int.Parse(code.Substring(a + 1, b - a - 1), System.Globalization.CultureInfo.InvariantCulture)];
                if (site.Form.Uses >= 2) sb.Append($"{site.Form.Name}({string.Join(", ", site.Varying)});");
                else
                {
                    // a multi-line inline text (an accumulating call and its `if (accumulate)` line) continues at the placeholder's indentation
                    int lineStart = code.LastIndexOf('\n', a) + 1;
                    var indent = code.Substring(lineStart, a - lineStart);
                    sb.Append(indent.Trim().Length == 0 ? site.Inline.Replace("\n", "\n" + indent) : site.Inline);
                }
                i = b + 1;
            }
            return sb.ToString();
        }

        private void EmitMethods(StringBuilder sb, string indent)
        {
            var shared = _formOrder.Where(f => f.Uses >= 2).ToList();
            if (shared.Count == 0) return;
            sb.Append(indent).Append("// ---- kernel calls that several kernels make with the same constant arguments: each call site passes its tensors\n");
            foreach (var f in shared)
            {
                var ps = new List<string>();
                var args = new List<string>();
                var names = new Dictionary<int, string>();
                for (int j = 0; j < f.Args.Count; j++)
                {
                    if (f.ParamTypes[j] is { } t) { var p = "a" + ps.Count; ps.Add($"{t} {p}"); args.Add(p); names[j] = p; }
                    else args.Add(f.Args[j]);
                }
                if (f.AccArgs.Count == 0)
                {
                    sb.Append(indent).Append($"private void {f.Name}({string.Join(", ", ps)}) => K.{f.Method}({string.Join(", ", args)}); // {f.Uses} kernels\n");
                    continue;
                }
                // accumulating (AccumulateGradients): the gradient outputs go to the scratches, which are then added into the gradients
                var adds = new List<string>();
                for (int i = 0; i < f.AccArgs.Count; i++)
                {
                    var grad = names[f.AccArgs[i]];
                    var scratch = "s" + i;
                    ps.Add($"Tensor<T> {scratch}");
                    args[f.AccArgs[i]] = $"accumulate ? {scratch} : {grad}";
                    adds.Add($"K.Accumulate({scratch}, {grad});");
                }
                ps.Add("bool accumulate");
                sb.Append(indent).Append($"private void {f.Name}({string.Join(", ", ps)}) // {f.Uses} kernels; accumulating, the kernel writes {string.Join(", ", f.AccArgs.Select((j, i) => "s" + i))} and adds {(f.AccArgs.Count == 1 ? "it" : "them")} into {string.Join(", ", f.AccArgs.Select(j => names[j]))}\n");
                sb.Append(indent).Append("{\n");
                sb.Append(indent).Append($"    K.{f.Method}({string.Join(", ", args)});\n");
                sb.Append(indent).Append($"    if (accumulate) {{ {string.Join(" ", adds)} }}\n");
                sb.Append(indent).Append("}\n");
            }
            sb.Append('\n');
        }
    }
}
