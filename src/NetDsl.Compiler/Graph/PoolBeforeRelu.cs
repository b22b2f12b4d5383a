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
            var outputs = g.Outputs.Select(o => o.Value.Storage).ToList();
            foreach (var relu in g.ForwardNodes.Where(n => n.Op == "relu").ToList())
            {
                var r = relu.Outputs[0];
                if (outputs.Contains(r) || g.Values.Any(v => v.AliasOf == r)) continue;
                var readers = g.Nodes.Where(n => n.Inputs.Contains(r)).ToList();
                if (readers.Count != 1 || readers[0].Op != "maxpool2d" || readers[0].Inputs.Count != 1) continue;
                var pool = readers[0];
                var y = pool.Outputs[0];
                var x = relu.Inputs[0];
                // pool x into a new value, relu it into the value the pooling's readers already read
                var pooled = g.NewValue(y.Name, y.Shape, y.Type);
                pool.Inputs[0] = x;
                pool.Outputs[0] = pooled;
                pooled.Producer = pool;
                relu.Inputs[0] = pooled;
                relu.Outputs[0] = y;
                y.Producer = relu;
                // keep the node list topological: the pooling now runs first
                int ir = g.Nodes.IndexOf(relu), ip = g.Nodes.IndexOf(pool);
                g.Nodes[ir] = pool; g.Nodes[ip] = relu;
                (pool.Id, relu.Id) = (relu.Id, pool.Id);
                swapped++;
            }
            return swapped;
        }
    }
}
