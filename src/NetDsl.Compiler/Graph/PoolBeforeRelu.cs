using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Compiler.Graph
{
    /// <summary>
    /// relu then max pooling becomes max pooling then relu: max is monotone, so relu(maxpool(x)) = maxpool(relu(x)) exactly
    /// (padding pools with −∞, which relu never selects over a real value), and the gradients agree (where the window's max
    /// is ≤ 0 both give zero). The relu then runs on the pooled tensor (a quarter of the elements for 2×2 pools), and the
    /// backward pass needs the small pooled output for relu's mask instead of the full-size relu output, which was kept
    /// alive until the pooling's backward: LeNet-5's plan drops by the 6×28×28 map per sample. Runs after initialization
    /// choices (He init still sees conv → relu) and before differentiation.
    /// </summary>
    internal static class PoolBeforeRelu
    {
        public static int Run(NetGraph g)
        {
            int swapped = 0;
            var outputs = new HashSet<TValue>(g.Outputs.Select(o => o.Value.Storage));
            var aliased = new HashSet<TValue>(g.Values.Where(v => v.AliasOf != null).Select(v => v.AliasOf!));
            // readers of each value, computed once: a swap only rewires values that relus later in the order never produce
            var readersOf = new Dictionary<TValue, List<OpNode>>();
            foreach (var n in g.Nodes)
                foreach (var i in n.Inputs.Distinct())
                {
                    if (!readersOf.TryGetValue(i, out var l)) readersOf[i] = l = new List<OpNode>();
                    l.Add(n);
                }
            var index = new Dictionary<OpNode, int>();
            for (int k = 0; k < g.Nodes.Count; k++) index[g.Nodes[k]] = k;
            foreach (var relu in g.ForwardNodes.Where(n => Ops.OpRegistry.Is(n, Ops.OpTraits.CommutesWithMaxPool)).ToList())
            {
                var r = relu.Outputs[0];
                if (outputs.Contains(r) || aliased.Contains(r)) continue;
                var readers = readersOf.TryGetValue(r, out var rl) ? rl : new List<OpNode>();
                if (readers.Count != 1 || !Ops.OpRegistry.Is(readers[0], Ops.OpTraits.MaxOverWindows) || readers[0].Inputs.Count != 1) continue;
                var pool = readers[0];
                var y = pool.Outputs[0];
                var x = relu.Inputs[0];
                // pool x into a new value, relu it into the value the pooling's readers already read
                var pooled = g.NewValue(y.Name, y.Shape, y.Type);
                y.Name = r.Name;   // honest names: y now holds the relu's output, the new value the pooling's
                pool.Inputs[0] = x;
                pool.Outputs[0] = pooled;
                pooled.Producer = pool;
                relu.Inputs[0] = pooled;
                relu.Outputs[0] = y;
                y.Producer = relu;
                // keep the node list topological: the pooling now runs first
                int ir = index[relu], ip = index[pool];
                g.Nodes[ir] = pool; g.Nodes[ip] = relu;
                index[pool] = ir; index[relu] = ip;
                (pool.Id, relu.Id) = (relu.Id, pool.Id);
                swapped++;
            }
            return swapped;
        }
    }
}
