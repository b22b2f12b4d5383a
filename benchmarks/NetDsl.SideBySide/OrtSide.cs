using Microsoft.ML.OnnxRuntime;

namespace NetDsl.SideBySide;

/// <summary>ONNX Runtime 1.32.0 (NuGet, CPU execution provider) on the models benchmarks/pytorch/peer.py exports from
/// PyTorch (torch.onnx.export, opset 17, eval mode): 2 intra-op threads, 1 inter-op thread, sequential execution, all graph
/// optimizations (ORT_ENABLE_ALL), spinning intra-op threads (ORT's default).</summary>
public sealed class OrtSide(string onnxDir) : LocalSide
{
    public override string Name => "ONNX Runtime";
    public static string Version => "ONNX Runtime " + OrtEnv.Instance().GetVersionString();
    public override bool Supports(string workload) => workload.StartsWith("infer:", StringComparison.Ordinal) && File.Exists(PathOf(workload));
    private string PathOf(string workload) { var (_, m, b) = Workload.Parse(workload); return Path.Combine(onnxDir, $"{m}_b{b}.onnx"); }

    protected override (Action, IDisposable?) Create(string workload)
    {
        var (_, model, batch) = Workload.Parse(workload);
        var so = new SessionOptions
        {
            IntraOpNumThreads = 2, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        var session = new InferenceSession(PathOf(workload), so);
        long[] shape = [batch, .. Workload.Shape(model).Select(d => (long)d)];
        var input = OrtValue.CreateTensorValueFromMemory(Workload.Uniform((int)shape.Aggregate(1L, (a, b) => a * b)), shape);
        var run = new RunOptions();
        string[] inNames = [session.InputMetadata.Keys.First()], outNames = [session.OutputMetadata.Keys.First()];
        var inputs = new[] { input };
        void Step() { using var outs = session.Run(run, inNames, inputs, outNames); }
        return (Step, new Owner([input, run, session, so]));
    }

    private sealed class Owner(IDisposable[] items) : IDisposable
    {
        public void Dispose() { foreach (var i in items) i.Dispose(); }
    }
}
