using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using TTensor = TorchSharp.torch.Tensor;

namespace NetDsl.SideBySide;

/// <summary>TorchSharp-cpu 0.107.0 (libtorch 2.10: MKL, oneDNN) in this process, 2 intra-op threads: the same models and
/// training step as benchmarks/pytorch/peer.py (SGD lr 0.01 momentum 0.9, cross-entropy), each step in a dispose scope.</summary>
public sealed class TorchSharpSide : LocalSide
{
    public override string Name => "TorchSharp";
    public static string Version => $"TorchSharp 0.107.0, libtorch {torch.__version__}";
    public TorchSharpSide(int threads = 2) { torch.set_num_threads(threads); torch.set_num_interop_threads(1); }
    public override bool Supports(string workload) => workload.StartsWith("train:", StringComparison.Ordinal);

    public static Module<TTensor, TTensor> Build(string model) => model switch
    {
        "lenet5" => Sequential(Conv2d(1, 6, 5, padding: 2), ReLU(), MaxPool2d(2), Conv2d(6, 16, 5), ReLU(), MaxPool2d(2), Flatten(),
                               Linear(400, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, 10)),
        "mlp" => Sequential(Linear(784, 1024), ReLU(), Linear(1024, 1024), ReLU(), Linear(1024, 10)),
        "resnet20" => new ResNet20Ts(),
        "transformer" => new EncoderTs(),
        "resnet50" => new ResNet50Ts(),
        _ => throw new ArgumentException(model),
    };

    protected override (Action, IDisposable?) Create(string workload)
    {
        var (_, model, batch) = Workload.Parse(workload);
        torch.manual_seed(1);
        if (model == "gemm")
        {
            var a = torch.rand(Workload.GemmSize, Workload.GemmSize); var w = torch.rand(Workload.GemmSize, Workload.GemmSize);
            void Gemm() { using var scope = torch.NewDisposeScope(); using var _ = torch.no_grad(); functional.linear(a, w); }
            return (Gemm, new Owner(a, w, a, a));
        }
        var net = Build(model);
        net.train();
        long[] shape = [batch, .. Workload.Shape(model).Select(d => (long)d)];
        var x = torch.rand(shape);
        if (model == "transformer") x = x.transpose(0, 1).contiguous();   // TorchSharp's encoder layer is sequence-first: [T, N, d]
        var y = torch.tensor(Workload.Labels(batch, Workload.Classes(model)).Select(v => (long)v).ToArray());
        var opt = torch.optim.SGD(net.parameters(), 0.01, momentum: 0.9);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = functional.cross_entropy(net.call(x), y);
            loss.backward();
            opt.step();
        }
        return (Step, new Owner(net, x, y, opt));
    }

    private sealed class Owner(IDisposable net, TTensor x, TTensor y, IDisposable opt) : IDisposable
    {
        public void Dispose() { foreach (var d in new[] { opt, net, x, y }.Distinct<IDisposable>(ReferenceEqualityComparer.Instance)) d.Dispose(); }
    }
}

internal sealed class BasicBlockTs : Module<TTensor, TTensor>
{
    private readonly Module<TTensor, TTensor> conv1, bn1, conv2, bn2, shortcut;
    public BasicBlockTs(long cin, long cout, long stride) : base("BasicBlock")
    {
        conv1 = Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false); bn1 = BatchNorm2d(cout);
        conv2 = Conv2d(cout, cout, 3, padding: 1, bias: false); bn2 = BatchNorm2d(cout);
        shortcut = stride != 1 || cin != cout ? Sequential(Conv2d(cin, cout, 1, stride: stride, bias: false), BatchNorm2d(cout)) : Identity();
        RegisterComponents();
    }
    public override TTensor forward(TTensor x)
    {
        var y = functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        return functional.relu(y + shortcut.call(x));
    }
}

internal sealed class ResNet20Ts : Module<TTensor, TTensor>
{
    private readonly Module<TTensor, TTensor> conv, bn, layers, fc;
    public ResNet20Ts() : base("ResNet20")
    {
        conv = Conv2d(3, 16, 3, padding: 1, bias: false); bn = BatchNorm2d(16);
        var blocks = new List<Module<TTensor, TTensor>>(); long cin = 16;
        foreach (var (cout, stride) in new[] { (16L, 1L), (32L, 2L), (64L, 2L) })
            for (int i = 0; i < 3; i++) { blocks.Add(new BasicBlockTs(cin, cout, i == 0 ? stride : 1)); cin = cout; }
        layers = Sequential(blocks); fc = Linear(64, 10);
        RegisterComponents();
    }
    public override TTensor forward(TTensor x)
    {
        x = functional.relu(bn.call(conv.call(x)));
        x = layers.call(x);
        return fc.call(functional.adaptive_avg_pool2d(x, 1).flatten(1));
    }
}

internal sealed class EncoderTs : Module<TTensor, TTensor>
{
    private readonly TransformerEncoderLayer block;
    private readonly Module<TTensor, TTensor> fc;
    public EncoderTs() : base("EncoderClassifier")
    {
        block = TransformerEncoderLayer(256, 4, 1024, 0.0);
        fc = Linear(256, 10);
        RegisterComponents();
    }
    public override TTensor forward(TTensor x) => fc.call(block.call(x).mean([0]));   // x: [T, N, d]
}

internal sealed class BottleneckTs : Module<TTensor, TTensor>
{
    private readonly Module<TTensor, TTensor> c1, b1, c2, b2, c3, b3, shortcut;
    public BottleneckTs(long cin, long c, long stride) : base("Bottleneck")
    {
        c1 = Conv2d(cin, c, 1, bias: false); b1 = BatchNorm2d(c);
        c2 = Conv2d(c, c, 3, stride: stride, padding: 1, bias: false); b2 = BatchNorm2d(c);
        c3 = Conv2d(c, 4 * c, 1, bias: false); b3 = BatchNorm2d(4 * c);
        shortcut = stride != 1 || cin != 4 * c ? Sequential(Conv2d(cin, 4 * c, 1, stride: stride, bias: false), BatchNorm2d(4 * c)) : Identity();
        RegisterComponents();
    }
    public override TTensor forward(TTensor x)
    {
        var y = functional.relu(b1.call(c1.call(x)));
        y = functional.relu(b2.call(c2.call(y)));
        y = b3.call(c3.call(y));
        return functional.relu(y + shortcut.call(x));
    }
}

/// <summary>torchvision's resnet50 (v1.5) in TorchSharp.</summary>
internal sealed class ResNet50Ts : Module<TTensor, TTensor>
{
    private readonly Module<TTensor, TTensor> stem, layers, fc;
    public ResNet50Ts() : base("ResNet50")
    {
        stem = Sequential(Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false), BatchNorm2d(64), ReLU(), MaxPool2d(3, stride: 2, padding: 1));
        var blocks = new List<Module<TTensor, TTensor>>(); long cin = 64;
        foreach (var (c, n, stride) in new[] { (64L, 3, 1L), (128L, 4, 2L), (256L, 6, 2L), (512L, 3, 2L) })
            for (int i = 0; i < n; i++) { blocks.Add(new BottleneckTs(cin, c, i == 0 ? stride : 1)); cin = 4 * c; }
        layers = Sequential(blocks); fc = Linear(2048, 1000);
        RegisterComponents();
    }
    public override TTensor forward(TTensor x) => fc.call(functional.adaptive_avg_pool2d(layers.call(stem.call(x)), 1).flatten(1));
}
