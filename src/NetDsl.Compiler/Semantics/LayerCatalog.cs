using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Semantics
{
    internal enum ArgType { Tensor, Tensors, Int, Float, Bool, Any }

    internal sealed record ArgSpec(string Name, ArgType Type, bool Required, object? Default = null, string? DefaultText = null);

    /// <summary>The built-in layers and compile-time functions with their signatures (docs/language.md lists them).</summary>
    internal static class LayerCatalog
    {
        private static ArgSpec T(string n) => new ArgSpec(n, ArgType.Tensor, true);
        private static ArgSpec I(string n) => new ArgSpec(n, ArgType.Int, true);
        private static ArgSpec I(string n, int d) => new ArgSpec(n, ArgType.Int, false, d, d.ToString());
        private static ArgSpec IOpt(string n, string text) => new ArgSpec(n, ArgType.Int, false, null, text);
        private static ArgSpec F(string n, double d) => new ArgSpec(n, ArgType.Float, false, d, d.ToString(System.Globalization.CultureInfo.InvariantCulture));
        private static ArgSpec B(string n, bool d) => new ArgSpec(n, ArgType.Bool, false, d, d ? "true" : "false");

        public static readonly IReadOnlyDictionary<string, IReadOnlyList<ArgSpec>> Specs = new Dictionary<string, IReadOnlyList<ArgSpec>>
        {
            ["conv"] = new[] { T("x"), I("out"), I("kernel"), I("stride", 1), I("pad", 0), B("bias", true) },
            ["linear"] = new[] { T("x"), I("out"), B("bias", true) },
            ["maxpool"] = new[] { T("x"), I("kernel"), IOpt("stride", "kernel"), I("pad", 0) },
            ["avgpool"] = new[] { T("x"), I("kernel"), IOpt("stride", "kernel"), I("pad", 0) },
            ["globalavgpool"] = new[] { T("x") },
            ["flatten"] = new[] { T("x") },
            ["relu"] = new[] { T("x") },
            ["sigmoid"] = new[] { T("x") },
            ["tanh"] = new[] { T("x") },
            ["dropout"] = new[] { T("x"), F("p", 0.5) },
            ["batchnorm"] = new[] { T("x"), F("eps", 1e-5), F("momentum", 0.1) },
            ["add"] = new[] { T("a"), T("b") },
            ["concat"] = new[] { new ArgSpec("xs", ArgType.Tensors, true), I("axis", 1) },
            ["cross_entropy"] = new[] { T("logits"), T("labels") },
            ["channels"] = new[] { T("x") },
            ["dim"] = new[] { T("x"), I("axis") },
        };

        /// <summary>Prefix of auto-generated layer names (`conv1`, `fc2`, `bn3`), as in PyTorch tutorials.</summary>
        public static string NamePrefix(string layer) => layer switch
        {
            "linear" => "fc",
            "batchnorm" => "bn",
            _ => layer,
        };

        public static IEnumerable<string> Names => Specs.Keys;
        public static bool IsBuiltin(string name) => Specs.ContainsKey(name);
    }
}
