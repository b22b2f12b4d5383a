using System.Globalization;
using System.Net;
using System.Text;
using NetDsl.Compiler;

namespace NetDsl.Tool;

/// <summary>
/// Draws a network's forward graph as SVG: one box per input and layer (name, op, output shape, .net line),
/// rows by depth from the inputs, so parallel branches (residual shortcuts, Inception) stand side by side.
/// </summary>
public static class SvgGraph
{
    private const int BoxW = 240, BoxH = 46, GapX = 30, GapY = 34, Margin = 20, TitleH = 30;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(string title, IReadOnlyList<GraphNodeView> nodes)
    {
        // rows by depth from the inputs; columns follow chains: a node continues the column of its first input
        // unless that input already has a continuation, in which case it opens a new column (a branch)
        var depth = new int[nodes.Count];
        var column = new int[nodes.Count];
        var continued = new bool[nodes.Count];
        int columns = 0;
        foreach (var n in nodes)
        {
            depth[n.Id] = n.Inputs.Count == 0 ? 0 : n.Inputs.Max(i => depth[i]) + 1;
            if (n.Inputs.Count > 0 && !continued[n.Inputs[0]]) { column[n.Id] = column[n.Inputs[0]]; continued[n.Inputs[0]] = true; }
            else column[n.Id] = columns++;
        }
        columns = Math.Max(columns, 1);
        int rows = nodes.Count == 0 ? 1 : depth.Max() + 1;
        int width = 2 * Margin + columns * BoxW + (columns - 1) * GapX;
        int height = 2 * Margin + TitleH + rows * BoxH + (rows - 1) * GapY;
        var pos = new Dictionary<int, (double X, double Y)>();
        foreach (var n in nodes)
            pos[n.Id] = (Margin + column[n.Id] * (BoxW + GapX), Margin + TitleH + depth[n.Id] * (BoxH + GapY));

        var sb = new StringBuilder();
        sb.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\">\n");
        sb.Append("  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n");
        sb.Append(Inv, $"  <rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(Inv, $"  <text x=\"{Margin}\" y=\"{Margin + 16}\" font-size=\"16\" font-weight=\"bold\">{Esc(title)}</text>\n");
        foreach (var n in nodes)
            foreach (var i in n.Inputs)
            {
                var (x1, y1) = pos[i]; var (x2, y2) = pos[n.Id];
                double sx = x1 + BoxW / 2.0, sy = y1 + BoxH, tx = x2 + BoxW / 2.0, ty = y2;
                double my = (sy + ty) / 2;
                sb.Append(Inv, $"  <path d=\"M {sx:0.#} {sy:0.#} C {sx:0.#} {my:0.#}, {tx:0.#} {my:0.#}, {tx:0.#} {ty - 1:0.#}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\"/>\n");
            }
        foreach (var n in nodes)
        {
            var (x, y) = pos[n.Id];
            sb.Append(Inv, $"  <g><title>{Esc(n.Name)}: {Esc(n.Op)} {Esc(n.OutputShape)} (line {n.Line})</title>\n");
            sb.Append(Inv, $"    <rect x=\"{x:0.#}\" y=\"{y:0.#}\" width=\"{BoxW}\" height=\"{BoxH}\" rx=\"6\" fill=\"{Fill(n.Op)}\" stroke=\"#333\" stroke-width=\"1\"/>\n");
            sb.Append(Inv, $"    <text x=\"{x + BoxW / 2.0:0.#}\" y=\"{y + 19:0.#}\" font-size=\"13\" text-anchor=\"middle\" font-weight=\"bold\">{Esc(n.Name)}{(n.Op == n.Name.TrimEnd("0123456789".ToCharArray()) || n.Op == "input" ? "" : " · " + Esc(n.Op))}</text>\n");
            sb.Append(Inv, $"    <text x=\"{x + BoxW / 2.0:0.#}\" y=\"{y + 36:0.#}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#333\">{Esc(n.OutputShape)}  ·  line {n.Line}</text></g>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Fill(string op) => op switch
    {
        "input" => "#e8e8e8",
        "conv2d" => "#cfe2ff",
        "linear" => "#d1e7dd",
        "maxpool2d" or "avgpool2d" or "globalavgpool" => "#fff3cd",
        "relu" or "sigmoid" or "tanh" => "#f8d7da",
        "add" or "concat" => "#e2d9f3",
        "cross_entropy" => "#ffe5d0",
        _ => "#f8f9fa",
    };

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
