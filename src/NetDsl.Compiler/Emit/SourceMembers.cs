using System.Linq;

namespace NetDsl.Compiler.Emit
{
    /// <summary>
    /// The members that let a generated network find its own definition at run time (for exporters such as ONNX): the .net
    /// text it was compiled from and its network name, as constants on a second part of the generic partial class. Both are
    /// string literals made by <see cref="Names.Literal"/>, the one escaper, and the class and namespace are the
    /// identifiers the emitter used.
    /// </summary>
    internal static class SourceMembers
    {
        public static string Emit(string ns, string classIdentifier, string network, string text)
        {
            var w = new CodeWriter();
            w.Line();
            w.Open($"namespace {string.Join(".", ns.Split('.').Select(Names.Identifier))}");
            w.Open($"public partial class {classIdentifier}<T>");
            w.Line("/// <summary>The text of the .net file this network was compiled from (read by exporters such as NetDsl.Onnx).</summary>");
            w.Line($"public const string NetSource = {Names.Literal(text)};");
            w.Line("/// <summary>The name of this network in <see cref=\"NetSource\"/>.</summary>");
            w.Line($"public const string NetworkName = {Names.Literal(network)};");
            w.Close();
            w.Close();
            return w.ToString();
        }
    }
}
