using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Semantics
{
    /// <summary>Ints: one int or a tuple/list of ints (`kernel: (3, 5)`); String: a string literal (`reduction: "sum"`);
    /// Floats: a list or tuple of numbers (`weights: [1.0, 2.0, 0.5]`).</summary>
    internal enum ArgType { Tensor, Tensors, Int, Float, Bool, Any, Ints, String, Floats }

    internal sealed record ArgSpec(string Name, ArgType Type, bool Required, object? Default = null, string? DefaultText = null);

    /// <summary>The built-in layers and compile-time functions with their signatures (docs/language.md lists them).</summary>
    internal static class LayerCatalog
    {
        public static ArgSpec T(string n) => new ArgSpec(n, ArgType.Tensor, true);
        public static ArgSpec I(string n) => new ArgSpec(n, ArgType.Int, true);
        public static ArgSpec I(string n, int d) => new ArgSpec(n, ArgType.Int, false, d, d.ToString());
        public static ArgSpec IOpt(string n, string text) => new ArgSpec(n, ArgType.Int, false, null, text);
        public static ArgSpec F(string n, double d) => new ArgSpec(n, ArgType.Float, false, d, d.ToString(System.Globalization.CultureInfo.InvariantCulture));
        public static ArgSpec Ts(string n) => new ArgSpec(n, ArgType.Tensors, true);
        public static ArgSpec Is(string n) => new ArgSpec(n, ArgType.Ints, true);
        public static ArgSpec Is(string n, int d) => new ArgSpec(n, ArgType.Ints, false, d, d.ToString());
        public static ArgSpec IsOpt(string n, string text) => new ArgSpec(n, ArgType.Ints, false, null, text);
        public static ArgSpec S(string n, string d) => new ArgSpec(n, ArgType.String, false, d, "\"" + d + "\"");
        public static ArgSpec FReq(string n) => new ArgSpec(n, ArgType.Float, true);
        /// <summary>An optional list of floats (absent when not given).</summary>
        public static ArgSpec Fs(string n) => new ArgSpec(n, ArgType.Floats, false, null, "none");
        public static ArgSpec B(string n, bool d) => new ArgSpec(n, ArgType.Bool, false, d, d ? "true" : "false");

        private static readonly Dictionary<string, IReadOnlyList<ArgSpec>> Slice = new Dictionary<string, IReadOnlyList<ArgSpec>>
        {
            ["linear"] = new[] { T("x"), I("out"), B("bias", true) },
            ["relu"] = new[] { T("x") },
            ["sigmoid"] = new[] { T("x") },
            ["tanh"] = new[] { T("x") },
            ["dropout"] = new[] { T("x"), F("p", 0.5) },
            ["channels"] = new[] { T("x") },
            ["dim"] = new[] { T("x"), I("axis") },
        };

        /// <summary>Every layer: the slice's (inline rules) and the registered op families'.</summary>
        public static readonly IReadOnlyDictionary<string, IReadOnlyList<ArgSpec>> Specs = BuildSpecs();

        private static IReadOnlyDictionary<string, IReadOnlyList<ArgSpec>> BuildSpecs()
        {
            var d = new Dictionary<string, IReadOnlyList<ArgSpec>>(Slice);
            foreach (var l in Ops.OpRegistry.Layers.Values)
            {
                if (d.ContainsKey(l.Name)) throw new System.InvalidOperationException($"layer {l.Name} is defined twice");
                d[l.Name] = l.Specs;
            }
            return d;
        }

        /// <summary>Prefix of auto-generated layer names (`conv1`, `fc2`, `bn3`), as in PyTorch tutorials.</summary>
        public static string NamePrefix(string layer) => layer switch
        {
            "linear" => "fc",
            _ => Ops.OpRegistry.Layers.TryGetValue(layer, out var d) ? d.Prefix : layer,
        };

        public static IEnumerable<string> Names => Specs.Keys.OrderBy(k => k, System.StringComparer.Ordinal);
        public static bool IsBuiltin(string name) => Specs.ContainsKey(name);
    }
}
