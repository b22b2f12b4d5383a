using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Numerics;

namespace NetDsl.Runtime.Optim;

/// <summary>
/// Updates a fixed list of parameters from their gradients with the device kernels of each parameter's device
/// (<see cref="IKernels{T}.SgdStep"/>, <see cref="IKernels{T}.AdamStep"/>), so it works on the CPU path and on ILGPU alike.
/// State tensors are allocated once, at construction, on each parameter's device.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private readonly bool _oneDevice;

    public IReadOnlyList<Parameter<T>> Parameters => _parameters;
    /// <summary>Learning rate used by the next <see cref="Step"/>; set it from an <see cref="ILrSchedule"/> each epoch.</summary>
    public double LearningRate { get; set; }
    public double WeightDecay { get; }
    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    protected Optimizer(IEnumerable<Parameter<T>> parameters, double learningRate, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be >= 0, got {learningRate}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weight decay must be >= 0, got {weightDecay}");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _parameters)
            if (!names.Add(p.Name)) throw new ArgumentException($"parameter '{p.Name}' is given twice");
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        _oneDevice = _parameters.Length > 0 && _parameters.All(p => p.Device == _parameters[0].Device);
        Values = _parameters.Select(p => p.Value).ToArray();
        Grads = _parameters.Select(p => p.Grad).ToArray();
    }

    /// <summary>
    /// Applies one update to every parameter from its current gradient: as one fused kernel over the whole group when all
    /// parameters live on one device (<see cref="IKernels{T}.SgdStep(Tensor{T}[], Tensor{T}[], Tensor{T}[], T, T, T, bool)"/>),
    /// else tensor by tensor.
    /// </summary>
    public void Step()
    {
        StepCount++;
        if (_oneDevice)
        {
            UpdateAll(_parameters[0].Device.Kernels<T>(), StepCount);
            return;
        }
        for (int i = 0; i < _parameters.Length; i++)
            Update(i, _parameters[i], _parameters[i].Device.Kernels<T>(), StepCount);
    }

    /// <summary>The values and gradients of the group, in order (built once: fused kernels cache per array instance).</summary>
    protected Tensor<T>[] Values { get; private set; } = null!;
    protected Tensor<T>[] Grads { get; private set; } = null!;

    /// <summary>Updates every parameter with one group kernel; <paramref name="step"/> starts at 1.</summary>
    protected abstract void UpdateAll(IKernels<T> kernels, int step);

    /// <summary>
    /// True when this optimizer keeps its state in the gradient buffers (<see cref="Sgd{T}"/> with <c>stateInGradients</c>):
    /// a generated network's <c>TrainStep(…, optimizer)</c> then calls <see cref="BeforeBackward"/>, runs a backward pass that
    /// adds into <c>Parameter.Grad</c>, and steps. Such an optimizer must be driven that way.
    /// </summary>
    public virtual bool AccumulatesGradients => false;

    /// <summary>Prepares the gradient buffers for an accumulating backward pass (only for <see cref="AccumulatesGradients"/>).</summary>
    public virtual void BeforeBackward() { }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Device.Kernels<T>().Fill(p.Grad, T.Zero);
    }

    /// <summary>Updates parameter <paramref name="index"/>; <paramref name="step"/> starts at 1.</summary>
    protected abstract void Update(int index, Parameter<T> p, IKernels<T> kernels, int step);

    protected static T Cast(double v) => T.CreateChecked(v);

    /// <summary>A zeroed tensor shaped like <paramref name="p"/>'s value on its device.</summary>
    protected static Tensor<T> State(Parameter<T> p)
    {
        var t = p.Device.Allocate<T>(p.Shape);
        Init.Zeros(t);
        return t;
    }
}

/// <summary>
/// PyTorch's SGD (dampening 0): g' = g + wd·θ; v = μ·v + g'; θ −= lr·v, or with Nesterov θ −= lr·(g' + μ·v).
/// </summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _velocity;
    private bool _prepared, _started;

    public double Momentum { get; }
    public bool Nesterov { get; }
    /// <summary>True when the momentum buffer is each parameter's gradient buffer (see the constructor).</summary>
    public bool StateInGradients { get; }

    /// <summary>
    /// PyTorch's SGD: g' = g + wd·θ; v = μ·v + g'; θ −= lr·v (or lr·(g' + μ·v) with Nesterov).
    /// With <paramref name="stateInGradients"/> (momentum &gt; 0, no Nesterov) the velocity lives in <c>Parameter.Grad</c> and no
    /// momentum buffer is allocated: before each backward pass the gradient buffer becomes μ·v + wd·θ, the network's backward
    /// adds g into it (so it holds v), and the step is θ −= lr·v — the same arithmetic, one parameter-sized buffer less per
    /// parameter. Drive it with the generated <c>TrainStep(…, optimizer)</c>; after a step <c>Parameter.Grad</c> holds the velocity.
    /// </summary>
    public Sgd(IEnumerable<Parameter<T>> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false, bool stateInGradients = false)
        : base(parameters, lr, weightDecay)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be >= 0, got {momentum}");
        if (nesterov && momentum <= 0) throw new ArgumentException("Nesterov momentum requires momentum > 0", nameof(nesterov));
        if (stateInGradients && (momentum <= 0 || nesterov))
            throw new ArgumentException($"stateInGradients keeps the momentum buffer in the gradients: it needs momentum > 0 and no Nesterov (got momentum {momentum}, nesterov {nesterov})", nameof(stateInGradients));
        Momentum = momentum;
        Nesterov = nesterov;
        StateInGradients = stateInGradients;
        _velocity = stateInGradients ? Grads : Parameters.Select(State).ToArray();
    }

    public override bool AccumulatesGradients => StateInGradients;

    /// <summary>With <see cref="StateInGradients"/>: grad = μ·grad + wd·θ (grad = wd·θ before the first step: v starts at 0).</summary>
    public override void BeforeBackward()
    {
        if (!StateInGradients) return;
        var mu = Cast(_started ? Momentum : 0);
        for (int i = 0; i < Grads.Length; i++)
        {
            var k = Parameters[i].Device.Kernels<T>();
            if (!_started && WeightDecay == 0) k.Fill(Grads[i], T.Zero);
            else k.Map(Grads[i], Values[i], Grads[i], new MomentumDecayMap<T>(mu, Cast(WeightDecay)), new MomentumDecayMapGpu(float.CreateChecked(mu), (float)WeightDecay));
        }
        _prepared = true;
    }

    /// <summary>The momentum buffer of parameter <paramref name="index"/> (its gradient buffer with <see cref="StateInGradients"/>).</summary>
    public Tensor<T> Velocity(int index) => _velocity[index];

    private void CheckPrepared()
    {
        if (!StateInGradients) return;
        if (!_prepared)
            throw new InvalidOperationException("this Sgd keeps its momentum in the gradients (stateInGradients: true): step it through the network's TrainStep(…, optimizer), which prepares the gradients and accumulates into them");
        _prepared = false;
        _started = true;
    }

    // with the state in the gradients the buffer already holds v = μ·v + g': the step is θ −= lr·v (SgdStep with μ = 0, wd = 0 and
    // the gradient as its own velocity rewrites v unchanged)
    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step)
    {
        if (index == 0) CheckPrepared();
        if (StateInGradients) kernels.SgdStep(p.Value, p.Grad, p.Grad, Cast(LearningRate), T.Zero, T.Zero, false);
        else kernels.SgdStep(p.Value, p.Grad, _velocity[index], Cast(LearningRate), Cast(Momentum), Cast(WeightDecay), Nesterov);
    }

    protected override void UpdateAll(IKernels<T> kernels, int step)
    {
        CheckPrepared();
        if (StateInGradients) kernels.SgdStep(Values, Grads, Grads, Cast(LearningRate), T.Zero, T.Zero, false);
        else kernels.SgdStep(Values, Grads, _velocity, Cast(LearningRate), Cast(Momentum), Cast(WeightDecay), Nesterov);
    }
}

/// <summary>μ·g + wd·θ: the gradient buffer of <see cref="Sgd{T}"/> with its state in the gradients, before a backward pass.</summary>
public readonly struct MomentumDecayMap<T>(T momentum, T weightDecay) : IMap2<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _mu = momentum, _wd = weightDecay;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public T Apply(T g, T p) => _mu * g + _wd * p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Apply(Vector256<T> g, Vector256<T> p) => Vector256.Create(_mu) * g + Vector256.Create(_wd) * p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Apply(Vector512<T> g, Vector512<T> p) => Vector512.Create(_mu) * g + Vector512.Create(_wd) * p;
}

/// <summary><see cref="MomentumDecayMap{T}"/> on ILGPU.</summary>
public readonly struct MomentumDecayMapGpu(float momentum, float weightDecay) : IGpuMap2
{
    private readonly float _mu = momentum, _wd = weightDecay;
    public float Apply(float g, float p) => _mu * g + _wd * p;
}

/// <summary>
/// PyTorch's Adam (L2 weight decay added to the gradient, not AdamW): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
/// θ −= lr·m̂/(√v̂ + ε) with bias corrections 1−βᵗ.
/// </summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tensor<T>[] _m, _v;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }

    public Adam(IEnumerable<Parameter<T>> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr, weightDecay)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"beta1 must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"beta2 must be in [0, 1), got {beta2}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        _m = Parameters.Select(State).ToArray();
        _v = Parameters.Select(State).ToArray();
    }

    public Tensor<T> FirstMoment(int index) => _m[index];
    public Tensor<T> SecondMoment(int index) => _v[index];

    protected override void Update(int index, Parameter<T> p, IKernels<T> kernels, int step) =>
        kernels.AdamStep(p.Value, p.Grad, _m[index], _v[index], Cast(LearningRate), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(WeightDecay), step);

    protected override void UpdateAll(IKernels<T> kernels, int step) =>
        kernels.AdamStep(Values, Grads, _m, _v, Cast(LearningRate), Cast(Beta1), Cast(Beta2), Cast(Epsilon), Cast(WeightDecay), step);
}
